// What the benchmarks run on and check against: the 8 preprocessed parity images and the official
// ViT-Tiny logits (spec/fixtures/parity), and the comparisons of logits.

import * as fs from 'fs';
import * as path from 'path';
import { TurboInputError } from '../../src/errors';
import { packageRoot } from '../../src/paths';

const PARITY_DIR = path.join(packageRoot(), 'spec', 'fixtures', 'parity');
/** One image, NCHW without the batch. */
export const IMAGE = [3, 224, 224];
const IMAGE_SIZE = 3 * 224 * 224;
/** The ONNX ViT-Tiny must reproduce the official r = 0 logits this closely to count as the same network. */
export const PARITY_TOLERANCE = 1e-3;

export interface Inputs {
  /** The 8 parity images, float32 NCHW, repeated as needed to fill a batch. */
  data: Float32Array;
  forBatch: (batch: number) => Float32Array;
}

export function readInputs(): Inputs {
  const file = path.join(PARITY_DIR, 'vit-tiny-inputs.f32');
  if (!fs.existsSync(file)) throw new TurboInputError(file, 'not found (the 8 preprocessed parity images the bench runs on)');
  const buf = fs.readFileSync(file);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  if (data.length !== 8 * IMAGE_SIZE) throw new TurboInputError(file, `expected 8 x 3 x 224 x 224 float32 values, found ${data.length}`);
  const cache = new Map<number, Float32Array>();
  return {
    data,
    forBatch: (batch) => {
      let x = cache.get(batch);
      if (!x) {
        x = new Float32Array(batch * IMAGE_SIZE);
        for (let i = 0; i < batch; i++) x.set(data.subarray((i % 8) * IMAGE_SIZE, (i % 8 + 1) * IMAGE_SIZE), i * IMAGE_SIZE);
        cache.set(batch, x);
      }
      return x;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Official references (spec/fixtures/parity/vit-tiny-turbo.json)

export interface ParityResult {
  config: { r: number | number[]; alpha: number; [k: string]: unknown };
  tokensAfterEachBlock: number[];
  logits: number[][];
}

export function readParity(): ParityResult[] {
  const file = path.join(PARITY_DIR, 'vit-tiny-turbo.json');
  if (!fs.existsSync(file)) throw new TurboInputError(file, 'not found (the official ViT-Tiny logits the bench checks against)');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { results: ParityResult[] }).results;
}

/** The official logits for a plain constant-r config (defaults otherwise), first `batch` images. */
export function officialLogits(parity: ParityResult[], r: number, alpha: number, batch: number): Float32Array | undefined {
  const hit = parity.find((p) => {
    const extra = Object.keys(p.config).filter((k) => k !== 'r' && k !== 'alpha');
    return extra.length === 0 && p.config.r === r && (r === 0 || p.config.alpha === alpha);
  });
  if (!hit) return undefined;
  const out = new Float32Array(batch * 1000);
  for (let i = 0; i < batch; i++) out.set(hit.logits[i % 8], i * 1000);
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
