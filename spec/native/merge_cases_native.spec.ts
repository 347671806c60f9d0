// The native TurboMerge (native/ops, TensorFlow custom op) on the tensorflow backend: the 12
// official merge cases (spec/fixtures/parity/merge-cases.json) within today's 1e-5, the TURBO.md
// worked examples, bit-exact agreement with the TS reference (src/turbo/merge.ts) on random inputs
// up to ViT-B size, TurboUnmerge and TurboPropAttnBias, and the kernel's own argument checks.
import * as tf from '@tensorflow/tfjs-core';
import { loadTurboOpLibrary } from '../../src/native/op_library';
import { TurboMergeAttrs } from '../../src/ops/kernel_names';
import { registerTurboOps } from '../../src/ops/register';
import { turboMerge } from '../../src/ops/turbo_merge';
import { turboUnmerge } from '../../src/ops/turbo_unmerge';
import { proportionalAttentionBias } from '../../src/ops/prop_attn_bias';
import { useBackend } from '../../src/runtime/backend';
import { bipartiteMatch, logSizes, mergeWeighted, unmerge } from '../../src/turbo/merge';
import { effectiveR, mergeWeight } from '../../src/turbo/schedule';
import { firstRowMismatch, leakedTensors, loadMergeCases, maxAbsDiff } from '../ops/helpers';
import { runMergeCase } from '../ops/merge_case';
import { describeNative, expectNativeKernel } from './helpers';
import { mulberry32 } from '../../src/rng';

const CASES = loadMergeCases();
const TOL = 1e-5;
const worst = { x: 0 };

describeNative('native TurboMerge on the tensorflow backend', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
    registerTurboOps();
    const lib = loadTurboOpLibrary();
    if (!lib.loaded) throw new Error(`op library not loaded: ${lib.error}`);
    expect(lib.ops).toEqual(expect.arrayContaining(['TurboMerge', 'TurboPropAttnBias', 'TurboUnmerge']));
    expectNativeKernel();
  });
  afterAll(() => console.log(`native TurboMerge: max abs diff vs official merge cases ${worst.x.toExponential(2)}`));

  test.each(CASES.map((c, i) => [`#${i} B${c.B} N${c.N} r=${c.r} alpha=${c.alpha}${c.size ? ' prior sizes' : ''}`, c] as const))(
    'official case %s',
    (_name, c) => {
      let out: { x: number[][][]; size: number[][]; assignment: number[][] } | undefined;
      const leaked = leakedTensors(() => {
        out = runMergeCase(c);
      });
      expect(leaked).toBe(0);
      expect(firstRowMismatch(out!.x, c.expectedX, TOL)).toBeNull();
      worst.x = Math.max(worst.x, maxAbsDiff(out!.x.flat(2), c.expectedX.flat(2)));
      expect(out!.size).toEqual(c.expectedSize);
      for (let b = 0; b < c.B; b++) {
        expect(new Set(out!.assignment[b]).size).toBe(c.expectedSize[b].length);
        if (c.classToken) expect(out!.assignment[b][0]).toBe(0);
      }
    },
  );

  // TURBO.md's worked example (r = 1): c = 0 merges token 2 into 1, c = 1 token 4 into 3.
  test.each([
    [0, [0, 3, 3, 4, 1, 5, 2]],
    [1 / 30, [0, 3, 1, 4, 4, 5, 2]],
  ])('TURBO.md worked example, alpha = %f', (alpha, assignment) => {
    const T = [[5, 5], [1, 0], [0.99, 0.1], [0, 1], [0.15, 0.99], [0.7, 0.7], [0.6, 0.75]];
    const res = turboMerge([T], [T], [[0.05, 0.1, 0.4, 0.1, 0.05, 0.1, 0.2]], null, { r: 1, alpha });
    expect(res.assignment.arraySync()).toEqual([assignment]);
    tf.dispose([res.x, res.size, res.assignment]);
  });

  // Same float64 arithmetic in the same order as the TS reference: identical assignment and
  // identical float32 outputs, ties and prior sizes included.
  const shapes = [
    { name: 'ViT-Tiny block 0', B: 2, N: 197, C: 192, d: 64, r: 13, p: 1, sized: false },
    { name: 'ViT-B block 3 with sizes', B: 1, N: 158, C: 768, d: 64, r: 16, p: 1, sized: true },
    { name: 'no class token, r clamped', B: 3, N: 25, C: 8, d: 4, r: 50, p: 0, sized: true },
    { name: 'DeiT (2 protected), ties', B: 2, N: 40, C: 16, d: 3, r: 9, p: 2, sized: false, ties: true },
    { name: 'NaN class-token attention ranks last', B: 2, N: 41, C: 8, d: 4, r: 12, p: 1, sized: false, nan: true },
  ];
  test.each(shapes.map((s) => [s.name, s] as const))('bit-exact vs the TS reference: %s', (_name, s) => {
    const rand = mulberry32(s.N * 7919 + s.C);
    // ties: metric rows from a 3-value alphabet, so many cosines and scores are equal.
    const gen = (k: number) => Float32Array.from({ length: k }, () => ('ties' in s ? Math.floor(rand() * 3) - 1 : rand() * 2 - 1));
    const x = gen(s.B * s.N * s.C);
    const metric = gen(s.B * s.N * s.d);
    // nan: every third token's class attention NaN (its E is NaN), among finite ones.
    const cls = Float32Array.from({ length: s.B * s.N }, (_, i) => ('ties' in s ? 0.25 : 'nan' in s && i % 3 === 0 ? NaN : rand() / s.N));
    const size = s.sized ? Float32Array.from({ length: s.B * s.N }, () => 1 + Math.floor(rand() * 4)) : null;
    const attrs: TurboMergeAttrs = { r: s.r, alpha: 0.75, beta: 0.5, gamma: 3, layer: 1, protectedTokens: s.p, rThreshold: 0 };
    const r = effectiveR(s.r, s.N, s.p, 0);
    const a = bipartiteMatch(metric, cls, s.B, s.N, s.d, { r, c: mergeWeight(0.75, 0.5, 3, 1), protectedTokens: s.p });
    const ref = mergeWeighted(x, size, a, s.C);

    const res = turboMerge(
      tf.tensor3d(x, [s.B, s.N, s.C]),
      tf.tensor3d(metric, [s.B, s.N, s.d]),
      tf.tensor2d(cls, [s.B, s.N]),
      size && tf.tensor2d(size, [s.B, s.N]),
      attrs,
    );
    expect(Array.from(res.assignment.dataSync())).toEqual(Array.from(a.dest));
    expect(maxAbsDiff(res.x.dataSync(), ref.x)).toBe(0);
    expect(Array.from(res.size.dataSync())).toEqual(Array.from(ref.size));

    const y = turboUnmerge(res.x, res.assignment);
    expect(maxAbsDiff(y.dataSync(), unmerge(ref.x, a, s.C))).toBe(0);
    const bias = proportionalAttentionBias(res.size);
    expect(bias.shape).toEqual([s.B, 1, 1, s.N - r]);
    expect(maxAbsDiff(bias.dataSync(), logSizes(ref.size))).toBeLessThan(1e-7);
    tf.dispose([res.x, res.size, res.assignment, y, bias]);
  });

  // The kernel checks its inputs itself (a SavedModel reaches it without the TS validation).
  const attrs = { r: 1, alpha: 5, beta: 1, gamma: 0, layer: 0, protectedTokens: 1, rThreshold: 0 };
  const run = (inputs: tf.NamedTensorMap, a: object = attrs, kernel = 'TurboMerge') => () => {
    const out = tf.engine().runKernel(kernel, inputs, a as tf.NamedAttrMap);
    tf.dispose(out as tf.Tensor[]);
  };
  test('the kernel refuses batch 0, mismatched shapes, r out of range and bad assignments', () => {
    const ok = { x: tf.zeros([1, 5, 2]), metric: tf.zeros([1, 5, 3]), clsAttn: tf.zeros([1, 5]) };
    expect(run({ x: tf.zeros([0, 5, 2]), metric: tf.zeros([0, 5, 3]), clsAttn: tf.zeros([0, 5]) })).toThrow(/batch size 0/);
    expect(run({ ...ok, metric: tf.zeros([1, 4, 3]) })).toThrow(/metric shape \[1,4,3\] does not match x/);
    expect(run({ ...ok, clsAttn: tf.zeros([1, 5, 1]) })).toThrow(/clsAttn must be rank 2/);
    expect(run({ ...ok, size: tf.zeros([1, 4]) })).toThrow(/size shape \[1,4\] does not match x/);
    expect(run(ok, { ...attrs, r: 70000 })).toThrow(/r = 70000 is out of range/);
    expect(run(ok, { ...attrs, alpha: Infinity })).toThrow(/alpha must be finite/);
    expect(run({ y: tf.zeros([1, 3, 2]), assignment: tf.tensor2d([[0, 3, 1]], [1, 3], 'int32') }, {}, 'TurboUnmerge')).toThrow(
      /assignment value 3 at flat index 1 is outside \[0, 3\)/,
    );
    expect(run(ok)).not.toThrow();
  });
});

