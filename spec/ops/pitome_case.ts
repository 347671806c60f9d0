// The PiToMe and MLERP cases recorded from official code (spec/fixtures/parity/pitome-cases.json,
// scripts/record-pitome-cases.py): score 'pitome' (official PiToMe, mean or MLERP) and score 'turbo'
// with MLERP (official Turbo grouping); and how a suite runs one through turboMerge. No Node
// built-ins here: the browser page imports it too (the file is read by loadPitomeCases in helpers.ts).
import * as tf from '@tensorflow/tfjs-core';
import { TurboMergeOptions, turboMerge } from '../../src/ops/turbo_merge';

export interface PitomeCase {
  B: number;
  N: number;
  C: number;
  d: number;
  r: number;
  margin: number;
  merge: 'mean' | 'mlerp';
  score: 'pitome' | 'turbo' | 'mctf';
  /** Turbo cases: alpha (beta 1, layer 0). */
  alpha?: number;
  /** Turbo: the class-token attention; MCTF: the attention each token receives. */
  attnCls?: number[][];
  /** MCTF: tau_sim, tau_info, tau_size. */
  tau?: [number, number, number];
  classToken: boolean;
  x: number[][][];
  metric: number[][][];
  size: number[][] | null;
  expectedX: number[][][];
  expectedSize: number[][];
}

export const PITOME_TOL = 1e-5;

export const pitomeCaseName = (c: PitomeCase, i: number) =>
  `#${i} ${c.score} B${c.B} N${c.N} C${c.C} d${c.d} r=${c.r} ${{ pitome: `margin=${c.margin.toFixed(4)}`, turbo: `alpha=${c.alpha}`, mctf: `tau=${c.tau}` }[c.score]} ${c.merge}${c.classToken ? '' : ', no class token'}${c.size ? ', prior sizes' : ''}`;

export function runPitomeCase(c: PitomeCase): { x: number[][][]; size: number[][]; assignment: number[][] } {
  // PiToMe's score does not read clsAttn, so anything goes there: NaN proves it.
  const cls = c.attnCls ?? Array.from({ length: c.B }, () => new Array<number>(c.N).fill(NaN));
  const x = tf.tensor3d(c.x);
  const res = turboMerge(x, c.metric, cls, c.size, mergeOptionsOfCase(c));
  const out = { x: res.x.arraySync(), size: res.size.arraySync(), assignment: res.assignment.arraySync() };
  tf.dispose([x, res.x, res.size, res.assignment]);
  return out;
}


/** The turboMerge options a case was recorded with. */
export function mergeOptionsOfCase(c: PitomeCase): TurboMergeOptions {
  const common = { r: c.r, protectedTokens: c.classToken ? 1 : 0, merge: c.merge };
  if (c.score === 'mctf') return { ...common, score: 'mctf', tauSim: c.tau![0], tauInfo: c.tau![1], tauSize: c.tau![2] };
  return c.score === 'pitome' ? { ...common, score: 'pitome', margin: c.margin } : { ...common, score: 'turbo', alpha: c.alpha };
}
