// turboMerge against the official Turbo implementation (spec/fixtures/parity/merge-cases.json, 12
// cases computed with the official merge.py), on every backend (tensorflow too when tfjs-node is
// installed), with the fused kernels (cpu, wasm) and with the composite path; and the worked example at the end of TURBO.md, written from the spec text.
import * as tf from '@tensorflow/tfjs-core';
import { turboMerge } from '../../src/ops/turbo_merge';
import { registerFusedKernels } from '../../src/ops/register';
import { useBackend } from '../../src/runtime/backend';
import { withNative } from '../helpers/backends';
import { BACKENDS, firstRowMismatch, leakedTensors, loadMergeCases, maxAbsDiff, pathsFor, useKernelPath } from './helpers';
import { runMergeCase } from './merge_case';

const CASES = loadMergeCases();
const TOL = 1e-5;

function caseName(c: (typeof CASES)[number], i: number): string {
  const parts = [`#${i}`, `B${c.B} N${c.N} C${c.C} d${c.d}`, `r=${c.r}`, `alpha=${c.alpha}`];
  if (!c.classToken) parts.push('no class token');
  if (c.size) parts.push('prior sizes');
  if (c.rThreshold) parts.push(`rThreshold=${c.rThreshold}`);
  if (c.beta !== 1 || c.gamma !== 0 || c.layer !== 0) parts.push(`beta=${c.beta} gamma=${c.gamma} layer=${c.layer}`);
  return parts.join(', ');
}

// TURBO.md, "Small worked example" (r = 1, class token at 0); x is its own metric.
const T = [
  [5, 5],
  [1, 0],
  [0.99, 0.1],
  [0, 1],
  [0.15, 0.99],
  [0.7, 0.7],
  [0.6, 0.75],
];
const A_CLS = [0.05, 0.1, 0.4, 0.1, 0.05, 0.1, 0.2];
const avg = (u: number[], v: number[]) => u.map((x, k) => (x + v[k]) / 2);

describe.each(withNative(BACKENDS))('%s backend', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(() => registerFusedKernels());

  describe.each(pathsFor(backend))('%s kernels', (kernelPath) => {
    beforeAll(() => useKernelPath(kernelPath));

    test.each(CASES.map((c, i) => [caseName(c, i), c] as const))('official case %s', (_name, c) => {
      let out: { x: number[][][]; size: number[][]; assignment: number[][] } | undefined;
      const leaked = leakedTensors(() => {
        out = runMergeCase(c);
      });
      expect(leaked).toBe(0);
      const { x, size, assignment } = out!;
      const nOut = c.expectedSize[0].length;
      // Token order exact: every row matches the expected row at the same position.
      expect(firstRowMismatch(x, c.expectedX, TOL)).toBeNull();
      expect(size).toEqual(c.expectedSize);
      // The assignment is consistent with the output: every output index is hit, sizes count the hits
      // (prior sizes aside), and with a class token it stays at index 0.
      for (let b = 0; b < c.B; b++) {
        expect(assignment[b]).toHaveLength(c.N);
        expect(new Set(assignment[b]).size).toBe(nOut);
        if (c.classToken) expect(assignment[b][0]).toBe(0);
        if (!c.size) {
          const hits = new Array(nOut).fill(0);
          for (const o of assignment[b]) hits[o]++;
          expect(hits).toEqual(c.expectedSize[b]);
        }
      }
    });

    test('TURBO.md worked example, c = 0 (ToMe): token 2 merges into token 1', () => {
      const res = turboMerge([T], [T], [A_CLS], null, { r: 1, alpha: 0, protectedTokens: 1 });
      const expectedX = [T[0], T[4], T[6], avg(T[1], T[2]), T[3], T[5]];
      expect(firstRowMismatch(res.x.arraySync() as number[][][], [expectedX], 1e-6)).toBeNull();
      expect(res.size.arraySync()).toEqual([[1, 1, 1, 2, 1, 1]]);
      expect(res.assignment.arraySync()).toEqual([[0, 3, 3, 4, 1, 5, 2]]);
      tf.dispose([res.x, res.size, res.assignment]);
    });

    test('TURBO.md worked example, c = 1: token 4 merges into token 3', () => {
      // c = 30·alpha·beta^|gamma − l| = 1 with alpha = 1/30, beta = 1.
      const res = turboMerge([T], [T], [A_CLS], null, { r: 1, alpha: 1 / 30, protectedTokens: 1 });
      const expectedX = [T[0], T[2], T[6], T[1], avg(T[3], T[4]), T[5]];
      expect(firstRowMismatch(res.x.arraySync() as number[][][], [expectedX], 1e-6)).toBeNull();
      expect(res.size.arraySync()).toEqual([[1, 1, 1, 1, 2, 1]]);
      expect(res.assignment.arraySync()).toEqual([[0, 3, 1, 4, 4, 5, 2]]);
      tf.dispose([res.x, res.size, res.assignment]);
    });
  });
});

// The E values the spec quotes for the c = 1 example, recomputed from the spec's definitions alone
// (cosine to the best odd token minus c·a_cls), as a check on how the example is read above.
test('TURBO.md worked example: E = [.5949, .9387, .7939] for sources 2, 4, 6 at c = 1', () => {
  const cos = (u: number[], v: number[]) => (u[0] * v[0] + u[1] * v[1]) / (Math.hypot(...u) * Math.hypot(...v));
  const E = [2, 4, 6].map((i) => Math.max(...[1, 3, 5].map((j) => cos(T[i], T[j]))) - A_CLS[i]);
  expect(maxAbsDiff(E, [0.5949, 0.9387, 0.7939])).toBeLessThan(1e-4);
});
