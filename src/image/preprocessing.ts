// The preprocessing a model's preprocessing.json describes (for ViT-Tiny: RGB, shortest side to
// 248 bicubic, centre crop 224, (x/255 − mean)/std), from decoded pixels, with no Node and no
// canvas resampling: browsers resample with their own filters, so the resize is done here, as
// PIL's antialiased resampling does it (torchvision's Resize on PIL images, which produced the
// reference inputs). The sharp path (preprocess.ts) and the browser path (preprocess_web.ts) share
// the geometry and the normalisation below; the constants come from the model's preprocessing.json.

import { TurboInputError } from '../errors';

export interface Preprocessing {
  color?: 'RGB';
  resize_shortest_side: number;
  interpolation?: 'bicubic' | 'bilinear' | 'nearest' | 'lanczos';
  center_crop: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** Decoded pixels, row-major, interleaved: RGB (3 channels) or RGBA (4; alpha is ignored). */
export interface Pixels {
  data: ArrayLike<number>;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * Largest resize or crop accepted: far above any ViT's input (DINOv2 uses 518), low enough that one
 * image's buffers stay in memory. A larger value is an edit, not a model.
 */
export const MAX_IMAGE_SIDE = 8192;

/** Why `p` cannot drive preprocessing (one field, no value quoted: the file may be a stranger's), or undefined. */
export function preprocessingProblem(p: unknown): string | undefined {
  if (!p || typeof p !== 'object' || Array.isArray(p)) return 'is not a JSON object with resize_shortest_side, center_crop, mean and std';
  const q = p as Record<string, unknown>;
  for (const field of ['resize_shortest_side', 'center_crop']) {
    if (!isSide(q[field])) return `${field} must be an integer from 1 to ${MAX_IMAGE_SIDE}`;
  }
  // The crop is cut from the resized image, whose short side is resize_shortest_side: a larger crop fits no image.
  if ((q.center_crop as number) > (q.resize_shortest_side as number)) return 'center_crop must not be larger than resize_shortest_side';
  for (const field of ['mean', 'std']) {
    if (!isRgbTriple(q[field])) return `${field} must be a list of 3 finite numbers (R, G, B)`;
  }
  // Pixels are divided by std: 0 turns every input into NaN or infinity, a negative one flips the image.
  if (!(q.std as number[]).every((v) => v > 0)) return 'std must be greater than 0 in every channel';
  if (q.interpolation !== undefined && !(typeof q.interpolation === 'string' && Object.hasOwn(FILTERS, q.interpolation))) {
    return `interpolation must be one of ${Object.keys(FILTERS).join(', ')}`;
  }
  if (q.color !== undefined && q.color !== 'RGB') return "color must be 'RGB'";
  return undefined;
}

const isSide = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_IMAGE_SIDE;
const isRgbTriple = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** `p` as Preprocessing, or a one-line TurboInputError naming `source` and the field that is wrong. */
export function checkPreprocessing(p: unknown, source: string): Preprocessing {
  const problem = preprocessingProblem(p);
  if (problem) throw new TurboInputError(source, problem);
  return p as Preprocessing;
}

/** Output size of torchvision Resize(shortest): the short side becomes `shortest`, the long side scales (truncated). */
export function resizedSize(width: number, height: number, shortest: number): { width: number; height: number } {
  if (width <= height) return { width: shortest, height: Math.trunc((shortest * height) / width) };
  return { width: Math.trunc((shortest * width) / height), height: shortest };
}

/** torchvision CenterCrop's offsets: top = int(round((h − crop) / 2)), likewise left. */
export function cropOffsets(size: { width: number; height: number }, crop: number): { left: number; top: number } {
  return { left: roundHalfEven((size.width - crop) / 2), top: roundHalfEven((size.height - crop) / 2) };
}

/**
 * Python's round(): halves go to the even neighbour. torchvision's CenterCrop takes
 * int(round((size - crop) / 2.0)), so with an odd margin Math.round (halves up) shifted the crop a
 * pixel whenever size − crop ≡ 1 (mod 4).
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** RGB bytes [crop·crop·3] (interleaved) → float32 CHW [3, crop, crop], (x/255 − mean)/std. */
export function normalise(rgb: ArrayLike<number>, crop: number, p: Preprocessing): Float32Array {
  const out = new Float32Array(3 * crop * crop);
  const plane = crop * crop;
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * p.std[c]);
    const shift = p.mean[c] / p.std[c];
    for (let i = 0; i < plane; i++) out[c * plane + i] = rgb[i * 3 + c] * scale - shift;
  }
  return out;
}

/** Pixels → float32 CHW [3, crop, crop]: resize (PIL filters), centre crop, normalise. */
export function preprocessPixels(pixels: Pixels, p: Preprocessing): Float32Array {
  const { width, height } = pixels;
  if (!(width > 0 && height > 0)) throw new Error(`preprocess: image has no size (${width}x${height})`);
  if (pixels.data.length < width * height * pixels.channels) {
    throw new Error(`preprocess: ${pixels.data.length} values for a ${width}x${height}x${pixels.channels} image`);
  }
  const size = resizedSize(width, height, p.resize_shortest_side);
  const crop = p.center_crop;
  if (size.width < crop || size.height < crop) throw new Error(`preprocess: resized image ${size.width}x${size.height} is smaller than the crop ${crop}`);
  const filter = FILTERS[p.interpolation ?? 'bicubic'];
  if (!filter) throw new Error(`preprocess: unknown interpolation '${p.interpolation}'`);
  const rgb = toRgb(pixels);
  // Horizontal pass, then vertical, each rounded to bytes: PIL's order and precision.
  const wide = resampleAxis(rgb, width, height, size.width, filter, true);
  const full = resampleAxis(wide, size.width, height, size.height, filter, false);
  const { left, top } = cropOffsets(size, crop);
  const cropped = new Uint8Array(crop * crop * 3);
  for (let y = 0; y < crop; y++) {
    const from = ((top + y) * size.width + left) * 3;
    cropped.set(full.subarray(from, from + crop * 3), y * crop * 3);
  }
  return normalise(cropped, crop, p);
}

function toRgb({ data, width, height, channels }: Pixels): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = data[i * channels];
    out[i * 3 + 1] = data[i * channels + 1];
    out[i * 3 + 2] = data[i * channels + 2];
  }
  return out;
}

interface Filter {
  support: number;
  f(x: number): number;
}

// PIL's filters (Imaging/Resample.c).
const FILTERS: Record<string, Filter> = {
  bicubic: {
    support: 2,
    f(x) {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  bilinear: { support: 1, f: (x) => Math.max(0, 1 - Math.abs(x)) },
  nearest: { support: 0.5, f: (x) => (x >= -0.5 && x < 0.5 ? 1 : 0) },
  lanczos: {
    support: 3,
    f(x) {
      const sinc = (t: number) => (t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t));
      return x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
    },
  },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

/**
 * One axis of PIL's ImagingResample for 8-bit images: each output pixel is a filter-weighted sum
 * of the input pixels within the (downscale-widened) support, with fixed-point weights, rounded
 * and clipped to a byte. Antialiasing comes from widening the filter by the scale.
 */
function resampleAxis(src: Uint8Array, width: number, height: number, outSize: number, filter: Filter, horizontal: boolean): Uint8Array {
  const inSize = horizontal ? width : height;
  if (inSize === outSize) return src;
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const bounds = new Int32Array(outSize * 2);
  const weights: Int32Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    const k = new Float64Array(count);
    let total = 0;
    for (let t = 0; t < count; t++) total += k[t] = filter.f((t + lo - center + 0.5) / filterScale);
    const fixed = new Int32Array(count);
    for (let t = 0; t < count; t++) {
      const w = total !== 0 ? k[t] / total : 0;
      fixed[t] = Math.trunc(w < 0 ? -0.5 + w * ONE : 0.5 + w * ONE);
    }
    bounds[o * 2] = lo;
    bounds[o * 2 + 1] = count;
    weights.push(fixed);
  }
  const outW = horizontal ? outSize : width;
  const outH = horizontal ? height : outSize;
  const out = new Uint8Array(outW * outH * 3);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const o = horizontal ? x : y;
      const lo = bounds[o * 2];
      const count = bounds[o * 2 + 1];
      const w = weights[o];
      for (let c = 0; c < 3; c++) {
        let sum = ONE / 2;
        for (let t = 0; t < count; t++) {
          const at = horizontal ? (y * width + lo + t) * 3 + c : ((lo + t) * width + x) * 3 + c;
          sum += src[at] * w[t];
        }
        const v = Math.floor(sum / ONE);
        out[(y * outW + x) * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}
