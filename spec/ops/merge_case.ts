// One official merge case (spec/fixtures/parity/merge-cases.json, from the official merge.py) and
// how every suite runs it through turboMerge: Node specs on each backend and kernel path, the
// native op, and the browser page. No Node built-ins here: the browser bundle imports it too.
import * as tf from '@tensorflow/tfjs-core';
import { TurboMergeOptions, turboMerge } from '../../src/ops/turbo_merge';

export interface MergeCase {
  B: number;
  N: number;
  C: number;
  d: number;
  r: number;
  alpha: number;
  classToken: boolean;
  rThreshold: number;
  beta: number;
  gamma: number;
  layer: number;
  x: number[][][];
  metric: number[][][];
  attnCls: number[][];
  size: number[][] | null;
  expectedX: number[][][];
  expectedSize: number[][];
}

export interface MergeCaseOutput {
  x: number[][][];
  size: number[][];
  assignment: number[][];
}

export function mergeOptionsOf(c: MergeCase): TurboMergeOptions {
  return { r: c.r, alpha: c.alpha, beta: c.beta, gamma: c.gamma, layer: c.layer, protectedTokens: c.classToken ? 1 : 0, rThreshold: c.rThreshold };
}

/** turboMerge on the case's inputs on the active backend, read back as arrays; frees what it made. */
export function runMergeCase(c: MergeCase): MergeCaseOutput {
  const x = tf.tensor3d(c.x);
  const res = turboMerge(x, c.metric, c.attnCls, c.size, mergeOptionsOf(c));
  const out = { x: res.x.arraySync(), size: res.size.arraySync(), assignment: res.assignment.arraySync() };
  tf.dispose([x, res.x, res.size, res.assignment]);
  return out;
}
