// The native TurboMerge (native/ops) with scores PiToMe and MCTF and merge MLERP on the tensorflow
// backend: the cases recorded from official code (spec/fixtures/parity/pitome-cases.json), and
// agreement with the TS reference (src/turbo/merge.ts) on random ViT-sized inputs.
import * as tf from '@tensorflow/tfjs-core';
import { loadTurboOpLibrary } from '../../src/native/op_library';
import { TurboMerge } from '../../src/ops/kernel_names';
import { registerTurboOps } from '../../src/ops/register';
import { turboMerge } from '../../src/ops/turbo_merge';
import { useBackend } from '../../src/runtime/backend';
import { MergeMode, bipartiteMatch, mergeWeighted } from '../../src/turbo/merge';
import { effectiveR } from '../../src/turbo/schedule';
import { mulberry32 } from '../../src/rng';
import { firstRowMismatch, leakedTensors, loadPitomeCases, maxAbsDiff } from '../ops/helpers';
import { PITOME_TOL, pitomeCaseName, runPitomeCase } from '../ops/pitome_case';

const PITOME_CASES = loadPitomeCases();
import { describeNative, expectNativeKernel } from './helpers';

const worst = { x: 0 };

describeNative('native TurboMerge, scores pitome and mctf, merge mlerp', () => {
  beforeAll(async () => {
    await useBackend('tensorflow');
    registerTurboOps();
    const lib = loadTurboOpLibrary();
    if (!lib.loaded) throw new Error(`op library not loaded: ${lib.error}`);
    expectNativeKernel();
  });
  afterAll(() => console.log(`native TurboMerge (pitome): max abs diff vs the recorded PiToMe/MLERP cases ${worst.x.toExponential(2)}`));

  test.each(PITOME_CASES.map((c, i) => [pitomeCaseName(c, i), c] as const))('recorded case %s', (_name, c) => {
    let out: ReturnType<typeof runPitomeCase> | undefined;
    expect(leakedTensors(() => (out = runPitomeCase(c)))).toBe(0);
    expect(firstRowMismatch(out!.x, c.expectedX, PITOME_TOL)).toBeNull();
    worst.x = Math.max(worst.x, maxAbsDiff(out!.x.flat(2), c.expectedX.flat(2)));
    expect(out!.size).toEqual(c.expectedSize);
  });

  // Same float64 arithmetic in the same order as the TS reference: the same assignment, and x equal
  // to float32 rounding (expm1 may differ in the last bit between V8 and the C library).
  const shapes: { name: string; B: number; N: number; C: number; d: number; r: number; p: number; sized: boolean; merge: MergeMode; margin: number; score: 'pitome' | 'mctf' }[] = [
    { name: 'PiToMe, ViT-Tiny block 0, mean', B: 2, N: 197, C: 192, d: 64, r: 16, p: 1, sized: false, merge: 'mean', margin: 0.9, score: 'pitome' },
    { name: 'PiToMe, ViT-Tiny block 6, mlerp, sizes', B: 2, N: 101, C: 192, d: 64, r: 16, p: 1, sized: true, merge: 'mlerp', margin: 0.5, score: 'pitome' },
    { name: 'PiToMe, DeiT (2 protected), r clamped, mlerp', B: 1, N: 30, C: 16, d: 8, r: 40, p: 2, sized: true, merge: 'mlerp', margin: 0.1, score: 'pitome' },
    { name: 'MCTF, ViT-Tiny block 3, sizes', B: 2, N: 149, C: 192, d: 192, r: 16, p: 1, sized: true, merge: 'mean', margin: 0.5, score: 'mctf' },
    { name: 'MCTF, DeiT (2 protected), r clamped, mlerp', B: 1, N: 31, C: 16, d: 8, r: 40, p: 2, sized: true, merge: 'mlerp', margin: 0.5, score: 'mctf' },
  ];
  test.each(shapes.map((s) => [s.name, s] as const))('agrees with the TS reference: %s', (_name, s) => {
    const rand = mulberry32(s.N * 31 + s.C);
    const gen = (k: number) => Float32Array.from({ length: k }, () => rand() * 2 - 1);
    const x = gen(s.B * s.N * s.C);
    const metric = gen(s.B * s.N * s.d);
    // MCTF reads it as the attention each token receives: positive.
    const cls = Float32Array.from({ length: s.B * s.N }, () => 0.5 + rand());
    const size = s.sized ? Float32Array.from({ length: s.B * s.N }, () => 1 + Math.floor(rand() * 4)) : null;
    const a = bipartiteMatch(metric, cls, s.B, s.N, s.d, { r: effectiveR(s.r, s.N, s.p, 0), c: 0, protectedTokens: s.p, score: s.score, margin: s.margin, size });
    const ref = mergeWeighted(x, size, a, s.C, undefined, s.merge);
    const res = turboMerge(
      tf.tensor3d(x, [s.B, s.N, s.C]),
      tf.tensor3d(metric, [s.B, s.N, s.d]),
      tf.tensor2d(cls, [s.B, s.N]),
      size ? tf.tensor2d(size, [s.B, s.N]) : null,
      { r: s.r, protectedTokens: s.p, score: s.score, merge: s.merge, margin: s.margin },
    );
    expect(Array.from(res.assignment.dataSync())).toEqual(Array.from(a.dest));
    expect(Array.from(res.size.dataSync())).toEqual(Array.from(ref.size));
    expect(maxAbsDiff(res.x.dataSync(), ref.x)).toBeLessThanOrEqual(1e-6);
    tf.dispose([res.x, res.size, res.assignment]);
  });

  // An edited graph can carry any int: the native kernel checks the codes itself, in the JS words.
  test.each([
    ['score', { score: 7 }, "score = 7 is not one of 'turbo' (0), 'pitome' (1), 'mctf' (2)"],
    ['merge_mode', { mergeMode: 2 }, "merge = 2 is not one of 'mean' (0), 'mlerp' (1)"],
  ])('an out-of-range %s code is refused by the kernel', (_name, bad, message) => {
    const m = tf.tensor3d([[[1, 0], [0, 1], [1, 1]]]);
    const cls = tf.tensor2d([[0, 0, 0]]);
    const attrs = { r: 1, alpha: 0, beta: 1, gamma: 0, layer: 0, protectedTokens: 1, rThreshold: 0, ...bad };
    expect(() => tf.engine().runKernel(TurboMerge, { x: m, metric: m, clsAttn: cls }, attrs as unknown as tf.NamedAttrMap)).toThrow(message);
    tf.dispose([m, cls]);
  });
});
