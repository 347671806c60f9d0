// The on-device composite TurboMerge (matching with tfjs ops, no read-back; the
// TURBO_COMPOSITE_MATCHING flag set to 'device' selects it) against the official merge cases and the TURBO.md worked example, on cpu and wasm
// (and tensorflow when tfjs-node is installed) with the fused kernels removed; and token for token
// against the read-back composite on random inputs with ties. The browser suite
// (spec/browser/browser.spec.ts) runs the same cases on webgl.
import * as tf from '@tensorflow/tfjs-core';
import { COMPOSITE_MATCHING_FLAG } from '../../src/ops/flags';
import { registerFusedKernels } from '../../src/ops/register';
import { turboMerge } from '../../src/ops/turbo_merge';
import { useBackend } from '../../src/runtime/backend';
import { withNative } from '../helpers/backends';
import { BACKENDS, firstRowMismatch, leakedTensors, loadMergeCases, useKernelPath } from './helpers';
import { runMergeCase } from './merge_case';

const CASES = loadMergeCases();
const TOL = 1e-5;

describe.each(withNative(BACKENDS))('%s backend, matching on the device', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
    useKernelPath('composite');
    tf.env().set(COMPOSITE_MATCHING_FLAG, 'device');
  });
  afterAll(() => {
    tf.env().set(COMPOSITE_MATCHING_FLAG, 'auto');
    registerFusedKernels();
  });

  test.each(CASES.map((c, i) => [`#${i} B${c.B} N${c.N} r=${c.r} alpha=${c.alpha}${c.classToken ? '' : ' no class token'}${c.size ? ' prior sizes' : ''}`, c] as const))(
    'official case %s',
    (_name, c) => {
      let out: { x: number[][][]; size: number[][]; assignment: number[][] } | undefined;
      const leaked = leakedTensors(() => {
        out = runMergeCase(c);
      });
      expect(leaked).toBe(0);
      expect(firstRowMismatch(out!.x, c.expectedX, TOL)).toBeNull();
      expect(out!.size).toEqual(c.expectedSize);
      const nOut = c.expectedSize[0].length;
      for (const row of out!.assignment) expect(new Set(row).size).toBe(nOut);
    },
  );

  test('TURBO.md worked example, c = 1: token 4 merges into token 3', () => {
    const T = [[5, 5], [1, 0], [0.99, 0.1], [0, 1], [0.15, 0.99], [0.7, 0.7], [0.6, 0.75]];
    const res = turboMerge([T], [T], [[0.05, 0.1, 0.4, 0.1, 0.05, 0.1, 0.2]], null, { r: 1, alpha: 1 / 30 });
    expect(res.size.arraySync()).toEqual([[1, 1, 1, 1, 2, 1]]);
    expect(res.assignment.arraySync()).toEqual([[0, 3, 1, 4, 4, 5, 2]]);
    tf.dispose([res.x, res.size, res.assignment]);
  });

  // Ties everywhere (metric rows drawn from 3 values, equal attention): the tie rules (first
  // argmax, stable ranking) decide every merge, so both paths must apply them identically.
  test.each([
    [1, 0],
    [1, 5],
    [0, 0],
    [2, 3],
  ])('same assignment as the read-back path with ties, protectedTokens %i, alpha %i', (protectedTokens, alpha) => {
    const rnd = mulberry32(7 + protectedTokens * 10 + alpha);
    const [B, N, d] = [3, 37, 4];
    const pick = () => [1, 0, -1][Math.floor(rnd() * 3)];
    const metric = Array.from({ length: B }, () => Array.from({ length: N }, () => Array.from({ length: d }, pick)));
    const cls = Array.from({ length: B }, () => Array.from({ length: N }, () => (rnd() < 0.5 ? 0.01 : 0.02)));
    const x = Array.from({ length: B }, () => Array.from({ length: N }, () => [rnd(), rnd()]));
    const size = Array.from({ length: B }, () => Array.from({ length: N }, () => 1 + Math.floor(rnd() * 3)));
    const run = () => {
      const res = turboMerge(x, metric, cls, size, { r: 11, alpha, protectedTokens });
      const out = { x: res.x.arraySync(), size: res.size.arraySync(), assignment: res.assignment.arraySync() };
      tf.dispose([res.x, res.size, res.assignment]);
      return out;
    };
    const device = run();
    tf.env().set(COMPOSITE_MATCHING_FLAG, 'readback');
    const readback = run();
    tf.env().set(COMPOSITE_MATCHING_FLAG, 'device');
    expect(device.assignment).toEqual(readback.assignment);
    expect(device.size).toEqual(readback.size);
    expect(firstRowMismatch(device.x, readback.x, 1e-6)).toBeNull();
  });
});

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
