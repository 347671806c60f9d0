// Reading the official Turbo whole-model vectors (copied from ../shared/parity into spec/fixtures).

import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { packageRoot } from '../../src/paths';
import { RSchedule } from '../../src/turbo/options';

// From the package root, so the compiled copy in dist/ (the fresh-process test) finds them too.
export const FIXTURES = path.join(packageRoot(), 'spec', 'fixtures');

export interface ParityConfig {
  r: number | [number, number];
  alpha: number;
  rThreshold?: number;
  propAttn?: boolean;
  beta?: number;
  gamma?: number;
}

export interface ParityResult {
  config: ParityConfig;
  tokensAfterEachBlock: number[];
  top1: number[];
  logits: number[][];
}

/**
 * The official results and the 8 preprocessed images. `inputs` makes a new tensor on each access,
 * on the backend active at that moment (so it can be read at module load, before a backend is set).
 */
export function loadVitTinyParity(): { results: ParityResult[]; inputData: Float32Array; readonly inputs: tf.Tensor4D } {
  const json = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'parity', 'vit-tiny-turbo.json'), 'utf8'));
  const buf = fs.readFileSync(path.join(FIXTURES, 'parity', 'vit-tiny-inputs.f32'));
  const inputData = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
  const shape = json.inputs.shape as [number, number, number, number];
  return {
    results: json.results,
    inputData,
    get inputs() {
      return tf.tensor4d(inputData, shape);
    },
  };
}

/** The JSON config as our options; `[r, inflect]` is the linear schedule, not a list. */
export function toOptions(c: ParityConfig) {
  const r: RSchedule = Array.isArray(c.r) ? { r: c.r[0], inflect: c.r[1] } : c.r;
  return {
    r,
    alpha: c.alpha,
    beta: c.beta ?? 1,
    gamma: c.gamma ?? 0,
    rThreshold: c.rThreshold ?? 0,
    propAttn: c.propAttn ?? true,
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function argmaxRows(data: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c] > data[r * cols + best]) best = c;
    out.push(best);
  }
  return out;
}
