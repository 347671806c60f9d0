// The merge-score test page (bundled by esbuild, served by scripts/browser/harness.ts): runs the
// recorded PiToMe / MLERP cases (spec/fixtures/parity/pitome-cases.json) through turboMerge on a
// GPU backend, for spec/browser/pitome.spec.ts. It imports the package's browser entry only.
import * as tf from '@tensorflow/tfjs-core';
import { trySetBackend } from './page_helpers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { turboMerge } from '../../src/browser';
import { PitomeCase, mergeOptionsOfCase } from '../ops/pitome_case';


export interface PitomeCaseResult {
  /** max |x − expected| over the case, Infinity when the shapes differ. */
  maxDiff: number;
  sizesEqual: boolean;
  tokensOut: number;
  leaked: number;
}

async function pitomeCases(backend: string, casesUrl: string): Promise<PitomeCaseResult[]> {
  if (!(await trySetBackend(backend))) throw new Error(`backend ${backend} is not available`);
  const { cases } = (await (await fetch(casesUrl)).json()) as { cases: PitomeCase[] };
  const out: PitomeCaseResult[] = [];
  for (const c of cases) {
    const before = tf.memory().numTensors;
    const x = tf.tensor3d(c.x);
    const cls = (c.attnCls ? tf.tensor2d(c.attnCls) : tf.fill([c.B, c.N], NaN)) as tf.Tensor2D;
    const res = turboMerge(x, c.metric, cls, c.size, mergeOptionsOfCase(c));
    const got = (await res.x.array()) as number[][][];
    const size = (await res.size.array()) as number[][];
    tf.dispose([x, cls, res.x, res.size, res.assignment]);
    let maxDiff = got.length === c.B && got[0].length === c.N - c.r ? 0 : Infinity;
    if (maxDiff === 0) got.forEach((rows, b) => rows.forEach((row, t) => row.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - c.expectedX[b][t][k]))))));
    out.push({ maxDiff, sizesEqual: JSON.stringify(size) === JSON.stringify(c.expectedSize), tokensOut: got[0]?.length ?? 0, leaked: tf.memory().numTensors - before });
  }
  return out;
}

declare global {
  interface Window {
    turboPitomePage: typeof api;
  }
}

const api = { pitomeCases, hasBackend: trySetBackend };
window.turboPitomePage = api;
