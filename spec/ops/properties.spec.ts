// Properties of turboMerge / turboUnmerge / proportionalAttentionBias over random small inputs
// (fast-check), on every backend, with the fused kernels and with the composite path.
import * as fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { turboMerge, TurboMergeOptions } from '../../src/ops/turbo_merge';
import { turboUnmerge } from '../../src/ops/turbo_unmerge';
import { proportionalAttentionBias } from '../../src/ops/prop_attn_bias';
import { registerFusedKernels } from '../../src/ops/register';
import { useBackend } from '../../src/runtime/backend';
import { BACKENDS, PATHS, maxAbsDiff, useKernelPath, withComposite } from './helpers';
import { tomeMergeRow } from './tome_reference';

const RUNS = { numRuns: 40 };

// ---- random inputs: shapes and options from fast-check, values from a seeded PRNG -------------
// (fast-check's own float arbitraries favour 0, ±max and duplicates, which make cosine ties whose
// order is unspecified in the official code; continuous values do not.)

interface Shape {
  b: number;
  n: number;
  c: number;
  d: number;
  withSize: boolean;
  seed: number;
}

interface Inputs extends Shape {
  x: number[][][];
  metric: number[][][];
  clsAttn: number[][];
  size: number[][] | null;
}

const shapeArb = (maxN = 24): fc.Arbitrary<Shape> =>
  fc.record({
    b: fc.integer({ min: 1, max: 2 }),
    n: fc.integer({ min: 2, max: maxN }),
    c: fc.integer({ min: 1, max: 5 }),
    d: fc.integer({ min: 2, max: 5 }),
    withSize: fc.boolean(),
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
  });

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function materialize(s: Shape): Inputs {
  const rand = mulberry32(s.seed);
  const u = (lo: number, hi: number) => Math.fround(lo + (hi - lo) * rand());
  const grid = <T>(rows: number, cols: number, f: () => T) => Array.from({ length: rows }, () => Array.from({ length: cols }, f));
  return {
    ...s,
    x: Array.from({ length: s.b }, () => grid(s.n, s.c, () => u(-2, 2))),
    metric: Array.from({ length: s.b }, () => grid(s.n, s.d, () => u(-1, 1))),
    clsAttn: grid(s.b, s.n, () => u(0, 0.2)),
    // Sizes are token counts: small integers.
    size: s.withSize ? grid(s.b, s.n, () => 1 + Math.floor(rand() * 4)) : null,
  };
}

const inputsArb = (maxN?: number) => shapeArb(maxN).map(materialize);
const sizesOf = (inp: Inputs) => inp.size ?? inp.x.map((row) => row.map(() => 1));

interface MergeOut {
  x: number[][][];
  size: number[][];
  assignment: number[][];
}

/** turboMerge on plain arrays; every tensor is freed. */
function mergeArrays(inp: Inputs, options: TurboMergeOptions): MergeOut {
  const res = turboMerge(inp.x, inp.metric, inp.clsAttn, inp.size, options);
  const out = { x: res.x.arraySync(), size: res.size.arraySync(), assignment: res.assignment.arraySync() };
  tf.dispose([res.x, res.size, res.assignment]);
  return out;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---- properties on each backend and kernel path ----------------------------------------------

describe.each(BACKENDS)('%s backend', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  afterAll(() => registerFusedKernels());

  describe.each(PATHS)('%s kernels', (kernelPath) => {
    beforeAll(() => useKernelPath(kernelPath));

    test('r = 0 is the identity: x, size unchanged, assignment 0..N-1', () => {
      fc.assert(
        fc.property(inputsArb(), fc.constantFrom(0, 1, 2), fc.constantFrom(0, 1, 5), (inp, p, alpha) => {
          const out = mergeArrays(inp, { r: 0, alpha, protectedTokens: p });
          expect(out.x).toEqual(inp.x);
          expect(out.size).toEqual(sizesOf(inp));
          expect(out.assignment).toEqual(inp.x.map(() => range(inp.n)));
        }),
        RUNS,
      );
    });

    test('N below rThreshold is the identity', () => {
      fc.assert(
        fc.property(inputsArb(), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 50 }), (inp, r, above) => {
          const out = mergeArrays(inp, { r, alpha: 5, rThreshold: inp.n + above });
          expect(out.x).toEqual(inp.x);
          expect(out.size).toEqual(sizesOf(inp));
          expect(out.assignment).toEqual(inp.x.map(() => range(inp.n)));
        }),
        RUNS,
      );
    });

    test('merges min(r, floor((N - p) / 2)) tokens; the assignment is onto 0..N\'-1 and sizes count it', () => {
      fc.assert(
        fc.property(inputsArb(), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 1, 2), (inp, r, p) => {
          const out = mergeArrays(inp, { r, alpha: 1, protectedTokens: p });
          const merged = Math.max(0, Math.min(r, Math.floor((inp.n - p) / 2)));
          const nOut = inp.n - merged;
          const sizes = sizesOf(inp);
          for (let b = 0; b < inp.b; b++) {
            expect(out.x[b]).toHaveLength(nOut);
            const expectedSize = new Array(nOut).fill(0);
            inp.x[b].forEach((_, i) => (expectedSize[out.assignment[b][i]] += sizes[b][i]));
            expect(out.size[b]).toEqual(expectedSize);
            expect(new Set(out.assignment[b])).toEqual(new Set(range(nOut)));
          }
        }),
        RUNS,
      );
    });

    test('the sum of sizes is preserved', () => {
      fc.assert(
        fc.property(inputsArb(), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 1, 2), (inp, r, p) => {
          const out = mergeArrays(inp, { r, alpha: 5, protectedTokens: p });
          const sum = (v: number[]) => v.reduce((a, s) => a + s, 0);
          // Integer sizes: float32 sums are exact.
          expect(out.size.map(sum)).toEqual(sizesOf(inp).map(sum));
        }),
        RUNS,
      );
    });

    test('the sum over tokens of x·size is preserved per channel', () => {
      fc.assert(
        fc.property(inputsArb(), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 1, 2), (inp, r, p) => {
          const out = mergeArrays(inp, { r, alpha: 5, protectedTokens: p });
          const sizes = sizesOf(inp);
          for (let b = 0; b < inp.b; b++) {
            for (let k = 0; k < inp.c; k++) {
              const before = inp.x[b].reduce((a, row, i) => a + row[k] * sizes[b][i], 0);
              const after = out.x[b].reduce((a, row, o) => a + row[k] * out.size[b][o], 0);
              const scale = inp.x[b].reduce((a, row, i) => a + Math.abs(row[k] * sizes[b][i]), 0);
              expect(Math.abs(after - before)).toBeLessThanOrEqual(1e-6 * (1 + scale));
            }
          }
        }),
        RUNS,
      );
    });

    test('protected tokens (1 or 2) stay first and unchanged, and nothing merges into them', () => {
      fc.assert(
        fc.property(inputsArb(), fc.integer({ min: 1, max: 14 }), fc.constantFrom(1, 2), fc.constantFrom(0, 1, 5), (inp, r, p, alpha) => {
          const out = mergeArrays(inp, { r, alpha, protectedTokens: p });
          const sizes = sizesOf(inp);
          for (let b = 0; b < inp.b; b++) {
            expect(out.x[b].slice(0, p)).toEqual(inp.x[b].slice(0, p));
            expect(out.size[b].slice(0, p)).toEqual(sizes[b].slice(0, p));
            expect(out.assignment[b].slice(0, p)).toEqual(range(p));
            expect(out.assignment[b].slice(p).every((o) => o >= p)).toBe(true);
          }
        }),
        RUNS,
      );
    });

    test('alpha = 0 is plain ToMe (independent reference of tome/merge.py)', () => {
      fc.assert(
        fc.property(inputsArb(), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 1, 2), (inp, r, p) => {
          const out = mergeArrays(inp, { r, alpha: 0, protectedTokens: p });
          for (let b = 0; b < inp.b; b++) {
            // p = 1: ToMe's class_token; p = 2: class_token + distill_token (DeiT).
            const ref = tomeMergeRow(inp.x[b], inp.metric[b], inp.size?.[b] ?? null, r, p >= 1, p === 2);
            expect(out.assignment[b]).toEqual(ref.dest);
            expect(out.size[b]).toEqual(ref.size);
            expect(maxAbsDiff(out.x[b].flat(), ref.x.flat())).toBeLessThan(1e-5);
          }
        }),
        RUNS,
      );
    });

    test('turboUnmerge(merge(x)) restores count and order: each token gets its destination row', () => {
      fc.assert(
        fc.property(inputsArb(), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 1, 2), (inp, r, p) => {
          const res = turboMerge(inp.x, inp.metric, inp.clsAttn, inp.size, { r, alpha: 5, protectedTokens: p });
          const back = turboUnmerge(res.x, res.assignment);
          const merged = res.x.arraySync();
          const assignment = res.assignment.arraySync();
          const restored = back.arraySync();
          tf.dispose([res.x, res.size, res.assignment, back]);
          expect(back.shape).toEqual([inp.b, inp.n, inp.c]);
          for (let b = 0; b < inp.b; b++) {
            const hits = new Array(merged[b].length).fill(0);
            for (const o of assignment[b]) hits[o]++;
            for (let i = 0; i < inp.n; i++) {
              expect(restored[b][i]).toEqual(merged[b][assignment[b][i]]);
              // Where nothing merged into a token, it comes back exactly (also with prior sizes).
              if (hits[assignment[b][i]] === 1) expect(restored[b][i]).toEqual(inp.x[b][i]);
            }
          }
        }),
        RUNS,
      );
    });

    test('proportionalAttentionBias(size) = log(size) reshaped [B, 1, 1, N]', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 3 }).chain((b) =>
            fc.integer({ min: 1, max: 30 }).chain((n) =>
              fc.array(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: n, maxLength: n }), { minLength: b, maxLength: b }),
            ),
          ),
          (sizes) => {
            const size = tf.tensor2d(sizes);
            const bias = proportionalAttentionBias(size);
            expect(bias.shape).toEqual([sizes.length, 1, 1, sizes[0].length]);
            expect(bias.dtype).toBe('float32');
            const expected = sizes.flat().map((s) => Math.fround(Math.log(s)));
            expect(maxAbsDiff(bias.dataSync(), expected)).toBeLessThanOrEqual(1e-6);
            tf.dispose([size, bias]);
          },
        ),
        RUNS,
      );
    });
  });

  // ---- the fused kernels against the composite path, same backend ----------------------------

  describe('fused vs composite', () => {
    beforeAll(() => registerFusedKernels());

    test('turboMerge: same assignment, sizes and merged tokens', () => {
      const opts = fc.record({
        r: fc.integer({ min: 0, max: 14 }),
        alpha: fc.constantFrom(0, 0.5, 1, 5),
        beta: fc.constantFrom(1, 0.8),
        gamma: fc.integer({ min: 0, max: 3 }),
        layer: fc.integer({ min: 0, max: 6 }),
        protectedTokens: fc.constantFrom(0, 1, 2),
        rThreshold: fc.constantFrom(0, 10, 20),
      });
      fc.assert(
        fc.property(inputsArb(30), opts, (inp, o) => {
          const fused = mergeArrays(inp, o);
          const composite = withComposite(() => mergeArrays(inp, o));
          expect(composite.assignment).toEqual(fused.assignment);
          expect(composite.size).toEqual(fused.size);
          expect(maxAbsDiff(composite.x.flat(2), fused.x.flat(2))).toBeLessThan(1e-5);
        }),
        RUNS,
      );
    });

    test('turboUnmerge: the composite path equals the fused kernel', () => {
      fc.assert(
        fc.property(inputsArb(), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 1, 2), (inp, r, p) => {
          const res = turboMerge(inp.x, inp.metric, inp.clsAttn, inp.size, { r, alpha: 5, protectedTokens: p });
          // Any y of the merged shape (not only the merged x), so the gather itself is tested.
          const y = tf.randomUniform(res.x.shape, -3, 3, 'float32', inp.seed);
          const fused = turboUnmerge(y, res.assignment);
          const composite = withComposite(() => turboUnmerge(y, res.assignment));
          expect(composite.shape).toEqual(fused.shape);
          expect(Array.from(composite.dataSync())).toEqual(Array.from(fused.dataSync()));
          tf.dispose([res.x, res.size, res.assignment, y, fused, composite]);
        }),
        RUNS,
      );
    });

    test('no tensors leak on either path', () => {
      const inp = materialize({ b: 2, n: 17, c: 4, d: 3, withSize: true, seed: 7 });
      for (const composite of [false, true]) {
        const before = tf.memory().numTensors;
        const run = () => {
          const res = turboMerge(inp.x, inp.metric, inp.clsAttn, inp.size, { r: 4 });
          const back = turboUnmerge(res.x, res.assignment);
          const bias = proportionalAttentionBias(res.size);
          tf.dispose([res.x, res.size, res.assignment, back, bias]);
        };
        if (composite) withComposite(run);
        else run();
        expect(tf.memory().numTensors).toBe(before);
      }
    });
  });
});
