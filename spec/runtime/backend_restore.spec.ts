// Library functions that switch tfjs backends put the caller's back: restoringBackend on its own,
// and tuneTurbo, which scores on the fastest installed backend (tensorflow or wasm), from an app
// on cpu, when it succeeds and when it fails after switching.
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { restoringBackend, useBackend } from '../../src/runtime/backend';
import { CalibrationSet } from '../../src/tune/calibration';
import { tuneTurbo } from '../../src/tune/tune';
import { HF_FIXTURES } from '../hf/hf_fixture';

beforeEach(async () => {
  await useBackend('cpu');
});

describe('restoringBackend', () => {
  test('puts back the backend f switched away from', async () => {
    const inside = await restoringBackend(async () => {
      await useBackend('wasm');
      return tf.getBackend();
    });
    expect(inside).toBe('wasm');
    expect(tf.getBackend()).toBe('cpu');
  });

  test('puts it back when f throws, and passes the error on', async () => {
    await expect(
      restoringBackend(async () => {
        await useBackend('wasm');
        throw new Error('failed on wasm');
      }),
    ).rejects.toThrow('failed on wasm');
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('tuneTurbo', () => {
  const MODEL = path.join(HF_FIXTURES, 'vit-small');
  let set: CalibrationSet;
  beforeAll(() => {
    // The HF ViT fixture takes [N, 3, 64, 64]; the tuner needs no real images to switch backends.
    set = { inputs: tf.randomUniform([4, 3, 64, 64], -1, 1, 'float32', 1) as tf.Tensor4D, names: ['a', 'b', 'c', 'd'] };
  });
  afterAll(() => set.inputs.dispose());

  test('leaves an app on cpu after a search on another backend', async () => {
    const result = await tuneTurbo(MODEL, set, { targetFlops: 1.2, maxEvals: 1, seed: 1 });
    expect(result.log).toHaveLength(1);
    expect(tf.getBackend()).toBe('cpu');
  });

  test('leaves an app on cpu when the search fails after switching (an unreachable target)', async () => {
    await expect(tuneTurbo(MODEL, set, { targetFlops: 19 })).rejects.toThrow(/out of reach/);
    expect(tf.getBackend()).toBe('cpu');
  });
});
