// Weight bytes as tfjs stores them: decoding (dequantizing uint8/uint16/float16), stored sizes,
// and a base64 form for weights kept in model.json metadata (the --strip journal).

import { StoredWeight, WeightDtype } from './types';
/** Decodes stored bytes the way tfjs does, dequantizing uint8/uint16/float16 to float32. */
export function decodeWeight(w: StoredWeight): Float32Array | Int32Array | Uint8Array {
  const { spec, bytes } = w;
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const q = spec.quantization;
  if (q) {
    const targetInt = (q.original_dtype ?? spec.dtype) === 'int32';
    let out: Float32Array;
    if (q.dtype === 'float16') {
      out = float16ToFloat32(new Uint16Array(buf));
    } else {
      const raw = q.dtype === 'uint8' ? new Uint8Array(buf) : new Uint16Array(buf);
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      out = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = raw[i] * scale + min;
    }
    return targetInt ? Int32Array.from(out, Math.round) : out;
  }
  switch (spec.dtype as WeightDtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'bool':
      return new Uint8Array(buf);
    default:
      throw new Error(`weight '${spec.name}': dtype ${spec.dtype} is not supported`);
  }
}

export function float16ToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const v = h[i];
    const sign = v & 0x8000 ? -1 : 1;
    const exp = (v >> 10) & 0x1f;
    const frac = v & 0x3ff;
    if (exp === 0) out[i] = sign * 2 ** -14 * (frac / 1024);
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return out;
}

/** Byte length a weight occupies in a shard. */
export function storedByteLength(spec: { shape: number[]; dtype: string; quantization?: { dtype: string } }): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization?.dtype;
  const per = q === 'uint8' ? 1 : q === 'uint16' || q === 'float16' ? 2 : spec.dtype === 'bool' ? 1 : 4;
  return size * per;
}

/** Bytes as base64 (no Buffer: this module also runs in browsers). */
export function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function base64ToBytes(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
