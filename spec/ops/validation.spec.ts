// Bad arguments throw errors whose message names the argument and says why; registration is idempotent.
import * as tf from '@tensorflow/tfjs-core';
import { turboMerge, TurboMergeOptions } from '../../src/ops/turbo_merge';
import { turboUnmerge } from '../../src/ops/turbo_unmerge';
import { proportionalAttentionBias } from '../../src/ops/prop_attn_bias';
import { hasFusedKernel, registerTurboOps, unregisterFusedKernels } from '../../src/ops/register';
import { TurboMerge, TurboPropAttnBias, TurboUnmerge } from '../../src/ops/kernel_names';
import { useBackend } from '../../src/runtime/backend';
import { bipartiteMatch } from '../../src/turbo/merge';
import { BACKENDS, PATHS, useKernelPath } from './helpers';

const B = 2;
const N = 9;
const C = 4;
const D = 3;

/** Valid arguments; each test breaks exactly one. */
function valid() {
  return {
    x: tf.randomNormal([B, N, C], 0, 1, 'float32', 1) as tf.Tensor,
    metric: tf.randomNormal([B, N, D], 0, 1, 'float32', 2) as tf.Tensor,
    clsAttn: tf.randomUniform([B, N], 0, 1, 'float32', 3) as tf.Tensor,
    size: tf.ones([B, N]) as tf.Tensor | null,
  };
}

type Args = ReturnType<typeof valid>;

function mergeWith(change: (a: Args) => Partial<Args>, options: TurboMergeOptions = { r: 2 }) {
  return () =>
    tf.tidy(() => {
      const a = { ...valid() };
      Object.assign(a, change(a));
      turboMerge(a.x, a.metric, a.clsAttn, a.size, options);
    });
}

describe.each(BACKENDS)('%s backend', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
    registerTurboOps();
  });

  describe.each(PATHS)('%s kernels', (kernelPath) => {
    beforeAll(() => useKernelPath(kernelPath));
    afterAll(() => useKernelPath('fused'));

    test('the valid arguments themselves are accepted', () => {
      expect(mergeWith(() => ({}))).not.toThrow();
    });

    describe('ranks', () => {
      test.each([
        ['x rank 2', (a: Args) => ({ x: tf.reshape(a.x, [B * N, C]) }), /turboMerge: x must be rank 3 \[B, N, C\], got shape \[18,4\]/],
        ['metric rank 4', (a: Args) => ({ metric: tf.reshape(a.metric, [B, N, D, 1]) }), /turboMerge: metric must be rank 3 \[B, N, d\], got shape \[2,9,3,1\]/],
        ['clsAttn rank 3', (a: Args) => ({ clsAttn: tf.reshape(a.clsAttn, [B, N, 1]) }), /turboMerge: clsAttn must be rank 2 \[B, N\], got shape \[2,9,1\]/],
        ['size rank 1', (a: Args) => ({ size: tf.reshape(a.size!, [B * N]) }), /turboMerge: size must be rank 2 \[B, N\], got shape \[18\]/],
      ])('%s', (_name, change, message) => {
        expect(mergeWith(change)).toThrow(message);
      });
    });

    describe('N (and B) must match x', () => {
      test.each([
        ['metric N', () => ({ metric: tf.zeros([B, N + 1, D]) }), /turboMerge: metric shape \[2,10,3\] does not match x \[2,9,4\] in B, N/],
        ['clsAttn N', () => ({ clsAttn: tf.zeros([B, N - 1]) }), /turboMerge: clsAttn shape \[2,8\] does not match x \[2,9,4\] in B, N/],
        ['size N', () => ({ size: tf.ones([B, N + 2]) }), /turboMerge: size shape \[2,11\] does not match x \[2,9,4\] in B, N/],
        ['metric B', () => ({ metric: tf.zeros([B + 1, N, D]) }), /turboMerge: metric shape \[3,9,3\] does not match x/],
      ])('%s', (_name, change, message) => {
        expect(mergeWith(change)).toThrow(message);
      });
    });

    describe('options', () => {
      test.each([
        ['negative r', { r: -1 }, /turboMerge: r: -1 is negative; it must be a non-negative integer/],
        ['non-integer r', { r: 2.5 }, /turboMerge: r: 2\.5 is not an integer/],
        ['NaN r', { r: NaN }, /turboMerge: r: NaN is not a finite number/],
        ['alpha NaN', { r: 2, alpha: NaN }, /turboMerge: alpha: NaN is not a finite number/],
        ['beta Infinity', { r: 2, beta: Infinity }, /turboMerge: beta: Infinity is not a finite number/],
        ['gamma -Infinity', { r: 2, gamma: -Infinity }, /turboMerge: gamma: -Infinity is not a finite number/],
        ['protectedTokens -1', { r: 2, protectedTokens: -1 }, /turboMerge: protectedTokens: -1 is negative/],
        ['layer 1.5', { r: 2, layer: 1.5 }, /turboMerge: layer: 1\.5 is not an integer/],
        ['rThreshold -3', { r: 2, rThreshold: -3 }, /turboMerge: rThreshold: -3 is negative/],
      ] as [string, TurboMergeOptions, RegExp][])('%s', (_name, options, message) => {
        expect(mergeWith(() => ({}), options)).toThrow(message);
      });

      test('missing options', () => {
        const message = /turboMerge: options must be an object with at least \{ r \}/;
        tf.tidy(() => {
          const a = valid();
          expect(() => turboMerge(a.x, a.metric, a.clsAttn, a.size, undefined as unknown as TurboMergeOptions)).toThrow(message);
          expect(() => turboMerge(a.x, a.metric, a.clsAttn, a.size, null as unknown as TurboMergeOptions)).toThrow(message);
        });
      });
    });

    describe('dtypes and non-tensors', () => {
      test('int32 x', () => {
        expect(mergeWith((a) => ({ x: tf.cast(a.x, 'int32') }))).toThrow(/turboMerge: x must be float32, got int32/);
      });
      test('int32 size', () => {
        expect(mergeWith(() => ({ size: tf.ones([B, N], 'int32') }))).toThrow(/turboMerge: size must be float32, got int32/);
      });
      test('a string as metric', () => {
        expect(mergeWith(() => ({ metric: 'not a tensor' as unknown as tf.Tensor }))).toThrow(/turboMerge: metric/);
      });
      test('errors on nested-array inputs leak no tensors', () => {
        const before = tf.memory().numTensors;
        expect(() => turboMerge([[1, 2]], [[[1]]], [[1]], null, { r: 1 })).toThrow(/turboMerge: x must be rank 3/);
        expect(() => turboMerge([[[1, 2]]], [[[1]]], [[1, 2]], null, { r: 1 })).toThrow(/turboMerge: clsAttn shape \[1,2\]/);
        expect(tf.memory().numTensors).toBe(before);
      });
    });

    describe('turboUnmerge', () => {
      test('float assignment', () => {
        tf.tidy(() => {
          expect(() => turboUnmerge(tf.zeros([1, 3, C]), tf.zeros([1, 5]))).toThrow(/turboUnmerge: assignment must be int32, got float32/);
        });
      });
      test('batch of assignment differs from y', () => {
        tf.tidy(() => {
          expect(() => turboUnmerge(tf.zeros([1, 3, C]), tf.zeros([2, 5], 'int32'))).toThrow(
            /turboUnmerge: assignment batch 2 does not match y batch 1/,
          );
        });
      });
      test('ranks', () => {
        tf.tidy(() => {
          expect(() => turboUnmerge(tf.zeros([3, C]), tf.zeros([1, 5], 'int32'))).toThrow(/turboUnmerge: y must be rank 3/);
          expect(() => turboUnmerge(tf.zeros([1, 3, C]), tf.zeros([5], 'int32'))).toThrow(/turboUnmerge: assignment must be rank 2/);
        });
      });
    });

    test('proportionalAttentionBias: size rank and dtype', () => {
      tf.tidy(() => {
        expect(() => proportionalAttentionBias(tf.ones([1, 1, 4]))).toThrow(/proportionalAttentionBias: size must be rank 2 \[B, N\], got shape \[1,1,4\]/);
        expect(() => proportionalAttentionBias(tf.ones([1, 4], 'int32'))).toThrow(/proportionalAttentionBias: size must be float32, got int32/);
      });
    });
  });
});

describe('registerTurboOps', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('is idempotent: repeated calls neither throw nor warn, and leave the kernels registered', () => {
    registerTurboOps();
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const error = jest.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(() => {
        registerTurboOps();
        registerTurboOps();
        registerTurboOps({ fusedKernels: false });
        registerTurboOps();
      }).not.toThrow();
      expect(warn).not.toHaveBeenCalled();
      expect(error).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
      error.mockRestore();
    }
    // (The graph ops themselves are exercised through loadGraphModel in graph_op.spec.ts.)
    for (const op of [TurboMerge, TurboPropAttnBias, TurboUnmerge]) {
      for (const backend of BACKENDS) expect(tf.getKernel(op, backend)).toBeDefined();
    }
  });

  test('fusedKernels: false puts the composite in place of the fused kernels, and a plain call keeps that choice', () => {
    registerTurboOps({ fusedKernels: false });
    for (const backend of BACKENDS) {
      expect(tf.getKernel(TurboMerge, backend)).toBeDefined();
      expect(hasFusedKernel(TurboMerge, backend)).toBe(false);
    }
    registerTurboOps();
    expect(hasFusedKernel(TurboMerge, 'cpu')).toBe(false);
    registerTurboOps({ fusedKernels: true });
    for (const backend of BACKENDS) expect(hasFusedKernel(TurboMerge, backend)).toBe(true);
  });

  test('registers the fused kernels again after unregisterFusedKernels', () => {
    unregisterFusedKernels();
    expect(hasFusedKernel(TurboMerge, 'cpu')).toBe(false);
    registerTurboOps({ fusedKernels: true });
    expect(hasFusedKernel(TurboMerge, 'cpu')).toBe(true);
    expect(hasFusedKernel(TurboMerge, 'wasm')).toBe(true);
  });
});

describe('bipartiteMatch (pure)', () => {
  test('an unclamped r is refused instead of producing a garbage assignment', () => {
    const metric = new Float32Array(5 * 2).map((_, i) => Math.sin(i + 1));
    const cls = new Float32Array(5);
    expect(() => bipartiteMatch(metric, cls, 1, 5, 2, { r: 3, c: 0, protectedTokens: 1 })).toThrow(/bipartiteMatch: r = 3 is not clamped/);
    expect(bipartiteMatch(metric, cls, 1, 5, 2, { r: 2, c: 0, protectedTokens: 1 }).nOut).toBe(3);
  });
});
