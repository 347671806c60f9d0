// turboMerge with score 'pitome' (mean and MLERP) and Turbo's score with MLERP against cases recorded
// from official code (spec/fixtures/parity/pitome-cases.json, scripts/record-pitome-cases.py): every backend
// (tensorflow too when tfjs-node and the op library are there), fused and composite kernels.
import * as tf from '@tensorflow/tfjs-core';
import { turboMerge } from '../../src/ops/turbo_merge';
import { registerFusedKernels } from '../../src/ops/register';
import { useBackend } from '../../src/runtime/backend';
import { withNative } from '../helpers/backends';
import { BACKENDS, firstRowMismatch, leakedTensors, loadPitomeCases, maxAbsDiff, pathsFor, useKernelPath } from './helpers';
import { PITOME_TOL as TOL, pitomeCaseName as caseName, runPitomeCase } from './pitome_case';

const CASES = loadPitomeCases();

// Largest |x − official| per backend and kernel path, printed once: the parity figure docs quote.
const worst = new Map<string, number>();
afterAll(() => console.log([...worst].map(([k, v]) => `${k}: max |x - official| = ${v.toExponential(2)}`).join('\n')));

describe.each(withNative(BACKENDS))('%s backend', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(() => registerFusedKernels());

  describe.each(pathsFor(backend))('%s kernels', (kernelPath) => {
    beforeAll(() => useKernelPath(kernelPath));

    test.each(CASES.map((c, i) => [caseName(c, i), c] as const))('recorded case %s', (_name, c) => {
      let out: ReturnType<typeof runPitomeCase> | undefined;
      expect(leakedTensors(() => (out = runPitomeCase(c)))).toBe(0);
      const { x, size, assignment } = out!;
      // Token order exact: protected tokens in descending energy, then destinations in rank order.
      expect(firstRowMismatch(x, c.expectedX, TOL)).toBeNull();
      expect(size).toEqual(c.expectedSize);
      const key = `${backend} ${kernelPath} ${c.score} ${c.merge}`;
      worst.set(key, Math.max(worst.get(key) ?? 0, maxAbsDiff(x.flat(2), c.expectedX.flat(2))));
      const nOut = c.N - c.r;
      for (let b = 0; b < c.B; b++) {
        expect(new Set(assignment[b]).size).toBe(nOut);
        if (c.classToken) expect(assignment[b][0]).toBe(0);
      }
    });
  });
});

describe('score and merge attributes', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('an unknown score or merge is refused, naming the choices', () => {
    const m = [[[1, 0], [0, 1], [1, 1]]];
    expect(() => turboMerge(m, m, [[0, 0, 0]], null, { r: 1, score: 'tome' as never })).toThrow("turboMerge: score = \"tome\" is not one of 'turbo' (0), 'pitome' (1), 'mctf' (2)");
    expect(() => turboMerge(m, m, [[0, 0, 0]], null, { r: 1, merge: 3 })).toThrow("turboMerge: merge = 3 is not one of 'mean' (0), 'mlerp' (1)");
    expect(() => turboMerge(m, m, [[0, 0, 0]], null, { r: 1, score: 'pitome', margin: NaN })).toThrow('margin');
  });

  test("MLERP keeps the larger norm of two merged tokens, in the mean's direction", () => {
    // Tokens 1 and 2 merge (they are the only pair; p = 1); x = metric.
    const rows = [[9, 9], [3, 4], [0, 10]];
    const res = turboMerge([rows], [rows], [[0, 0, 0]], null, { r: 1, alpha: 0, merge: 'mlerp' });
    const [[cls, merged]] = res.x.arraySync() as number[][][];
    expect(cls).toEqual([9, 9]);
    const mean = [1.5, 7];
    const scale = 10 / Math.hypot(mean[0], mean[1]);
    expect(merged[0]).toBeCloseTo(mean[0] * scale, 5);
    expect(merged[1]).toBeCloseTo(mean[1] * scale, 5);
    tf.dispose([res.x, res.size, res.assignment]);
  });
});
