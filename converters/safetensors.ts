// The safetensors format (https://github.com/huggingface/safetensors): u64 little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}, then
// the raw little-endian bytes, offsets relative to the end of the header. Hand-written because
// it is this small and npm has no maintained reader (the `safetensors` package is a 0.0.1 stub).
// The header is validated in full when the file is opened; tensor bytes are read on demand, so a
// checkpoint larger than memory's comfortable limit is never loaded at once.

import * as fs from 'fs';
import * as fsp from 'fs/promises';
import { TurboInputError } from '../src/errors';
import { float16ToFloat32 } from '../src/graph/ir';

/** Bytes per element of every dtype the format defines (so any valid header can be checked). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
};

/** Dtypes we can turn into float32 (F*) or int32 (I*) for a tfjs graph. */
export const SUPPORTED_DTYPES = ['F32', 'F16', 'BF16', 'F64', 'I32', 'I64'] as const;
export type SupportedDtype = (typeof SUPPORTED_DTYPES)[number];

/** The spec caps the header at 100 MB; anything larger is a corrupt length field. */
const MAX_HEADER_BYTES = 100 * 1000 * 1000;

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  path: string;
  metadata: Record<string, string>;
  tensors: Map<string, TensorInfo>;
  /** Float tensors as float32 (F16/BF16/F64 converted), integer tensors as int32. */
  read(name: string): Promise<Float32Array | Int32Array>;
  /** Like read(), but throws unless the result is float32. */
  readFloat(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

export async function openSafetensors(file: string): Promise<SafetensorsFile> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (e) {
    throw new TurboInputError(file, fileProblem(e));
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new TurboInputError(file, 'is a directory, expected a .safetensors file');
    const size = stat.size;
    if (size < 8) throw new TurboInputError(file, `too short for a safetensors file (${size} bytes; the header length alone is 8)`);
    const lenBuf = await readAt(handle, 0, 8);
    const rawLen = lenBuf.readBigUInt64LE(0);
    if (rawLen > BigInt(size - 8)) {
      throw new TurboInputError(file, `header length ${rawLen} runs past the end of the file (${size} bytes): truncated or not safetensors`);
    }
    const headerLen = Number(rawLen);
    if (headerLen > MAX_HEADER_BYTES) throw new TurboInputError(file, `header length ${headerLen} exceeds the format's 100 MB limit`);
    const header = parseHeader(file, (await readAt(handle, 8, headerLen)).toString('utf8'));
    const dataStart = 8 + headerLen;
    const { tensors, metadata } = checkEntries(file, header, size - dataStart, dataStart);
    return {
      path: file,
      metadata,
      tensors,
      read: (name) => readTensor(handle, file, tensors, name),
      readFloat: async (name) => {
        const data = await readTensor(handle, file, tensors, name);
        if (!(data instanceof Float32Array)) throw new TurboInputError(file, `tensor '${name}' is ${tensors.get(name)!.dtype}, expected a float tensor`);
        return data;
      },
      close: () => handle.close(),
    };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

function parseHeader(file: string, text: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new TurboInputError(file, `header is not valid JSON (${(e as Error).message}): not a safetensors file?`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new TurboInputError(file, 'header is not a JSON object of tensors');
  }
  return header as Record<string, unknown>;
}

function checkEntries(file: string, header: Record<string, unknown>, dataBytes: number, dataStart: number) {
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      // Free-form string map; kept for callers, never needed to read the tensors.
      if (raw && typeof raw === 'object' && !Array.isArray(raw)) metadata = raw as Record<string, string>;
      continue;
    }
    const bad = (problem: string) => new TurboInputError(file, `tensor '${name}': ${problem}`);
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (!e || typeof e !== 'object') throw bad('header entry is not an object');
    const per = typeof e.dtype === 'string' ? DTYPE_BYTES[e.dtype] : undefined;
    if (per === undefined) throw bad(`unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every(isCount)) throw bad(`shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount)) throw bad(`data_offsets ${JSON.stringify(off)} is not [begin, end]`);
    const [begin, end] = off as number[];
    if (begin > end || end > dataBytes) {
      throw bad(`data_offsets [${begin}, ${end}] out of range (the data section has ${dataBytes} bytes)`);
    }
    const need = (e.shape as number[]).reduce((a, b) => a * b, 1) * per;
    if (end - begin !== need) {
      throw bad(`data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${e.dtype} [${e.shape}] needs ${need}`);
    }
    tensors.set(name, { name, dtype: e.dtype as string, shape: e.shape as number[], begin: dataStart + begin, end: dataStart + end });
  }
  return { tensors, metadata };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

async function readTensor(handle: fsp.FileHandle, file: string, tensors: Map<string, TensorInfo>, name: string): Promise<Float32Array | Int32Array> {
  const t = tensors.get(name);
  if (!t) throw new TurboInputError(file, `tensor '${name}' not found`);
  if (!(SUPPORTED_DTYPES as readonly string[]).includes(t.dtype)) {
    throw new TurboInputError(file, `tensor '${name}' has unsupported dtype ${t.dtype} (supported: ${SUPPORTED_DTYPES.join(', ')})`);
  }
  const bytes = await readAt(handle, t.begin, t.end - t.begin);
  // A fresh, aligned ArrayBuffer; typed arrays read it little-endian on every platform Node ships for but s390x.
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  switch (t.dtype as SupportedDtype) {
    case 'F32':
      return new Float32Array(buf);
    case 'F16':
      return float16ToFloat32(new Uint16Array(buf));
    case 'BF16':
      return bf16ToFloat32(new Uint16Array(buf));
    case 'F64':
      return Float32Array.from(new Float64Array(buf));
    case 'I32':
      return new Int32Array(buf);
    case 'I64':
      return int64ToInt32(file, name, new BigInt64Array(buf));
  }
}

/** bfloat16 is the top half of a float32. */
export function bf16ToFloat32(h: Uint16Array): Float32Array {
  const bits = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
  return new Float32Array(bits.buffer);
}

function int64ToInt32(file: string, name: string, v: BigInt64Array): Int32Array {
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    if (v[i] > 2147483647n || v[i] < -2147483648n) throw new TurboInputError(file, `tensor '${name}': I64 value ${v[i]} does not fit in int32`);
    out[i] = Number(v[i]);
  }
  return out;
}

async function readAt(handle: fsp.FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf;
}

function fileProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'not found';
  if (code === 'EISDIR') return 'is a directory, expected a .safetensors file';
  if (code === 'EACCES') return 'permission denied';
  return String((e as Error).message ?? e);
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  dtype?: 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';
  /** Raw little-endian bytes of the dtype, or a function producing them when written (keeps big checkpoints out of memory). */
  data: ArrayBufferView | (() => ArrayBufferView);
}

/** Writes a safetensors file, tensors in the order given; the header is padded to 8 bytes as the reference writer does. */
export function writeSafetensors(file: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const dtype = t.dtype ?? 'F32';
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8);
  const fd = fs.openSync(file, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
    fs.writeSync(fd, len);
    fs.writeSync(fd, text);
    for (const t of tensors) {
      const view = typeof t.data === 'function' ? t.data() : t.data;
      const need = (header[t.name] as { data_offsets: number[] }).data_offsets;
      if (view.byteLength !== need[1] - need[0]) throw new Error(`tensor '${t.name}': ${view.byteLength} bytes for ${need[1] - need[0]}`);
      fs.writeSync(fd, new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    }
  } finally {
    fs.closeSync(fd);
  }
}
