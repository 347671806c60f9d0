// The PiToMe cases recorded from the official code (spec/fixtures/parity/pitome-cases.json,
// scripts/record-pitome-cases.py) and how a suite runs one through turboMerge on the active backend.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { turboMerge } from '../../src/ops/turbo_merge';

export interface PitomeCase {
  B: number;
  N: number;
  C: number;
  d: number;
  r: number;
  margin: number;
  merge: 'mean' | 'mlerp';
  classToken: boolean;
  x: number[][][];
  metric: number[][][];
  size: number[][] | null;
  expectedX: number[][][];
  expectedSize: number[][];
}

const FILE = path.join(__dirname, '..', 'fixtures', 'parity', 'pitome-cases.json');
export const PITOME_CASES = (JSON.parse(fs.readFileSync(FILE, 'utf8')) as { cases: PitomeCase[] }).cases;
export const PITOME_TOL = 1e-5;

export const pitomeCaseName = (c: PitomeCase, i: number) =>
  `#${i} B${c.B} N${c.N} C${c.C} d${c.d} r=${c.r} margin=${c.margin.toFixed(4)} ${c.merge}${c.classToken ? '' : ', no class token'}${c.size ? ', prior sizes' : ''}`;

export function runPitomeCase(c: PitomeCase): { x: number[][][]; size: number[][]; assignment: number[][] } {
  // clsAttn is an input of the op; PiToMe's score does not read it, so anything goes: NaN proves it.
  const cls = Array.from({ length: c.B }, () => new Array<number>(c.N).fill(NaN));
  const x = tf.tensor3d(c.x);
  const res = turboMerge(x, c.metric, cls, c.size, { r: c.r, protectedTokens: c.classToken ? 1 : 0, score: 'pitome', merge: c.merge, margin: c.margin });
  const out = { x: res.x.arraySync(), size: res.size.arraySync(), assignment: res.assignment.arraySync() };
  tf.dispose([x, res.x, res.size, res.assignment]);
  return out;
}

