// The Turbo ops reach their kernels through tfjs's registry (ENGINE.runKernel): a backend registered
// after tfjs-turbo, with no fused kernel (like webgl or webgpu), gets the composite as its kernel;
// the TURBO_COMPOSITE_MATCHING flag picks the composite's matching there; a fused kernel, added
// through addBackendKernels or registered by the app itself, takes precedence over the composite.
// The stand-in backends are the cpu backend under other names, with every cpu kernel but Turbo's.
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { COMPOSITE_MATCHING_FLAG, compositeMatching } from '../../src/ops/flags';
import { TurboMerge } from '../../src/ops/kernel_names';
import { addBackendKernels, hasFusedKernel, registerFusedKernels, registerTurboKernels } from '../../src/ops/kernel_registry';
import { turboMerge } from '../../src/ops/turbo_merge';
import { useBackend } from '../../src/runtime/backend';

const TURBO_KERNELS = new Set(['TurboMerge', 'TurboUnmerge', 'TurboPropAttnBias']);

/** A backend named `name` that runs cpu's kernels, registered now (after tfjs-turbo's registration). */
function registerStandIn(name: string): void {
  tf.registerBackend(name, () => new MathBackendCPU());
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (!TURBO_KERNELS.has(k.kernelName)) tf.registerKernel({ ...k, backendName: name });
  }
}

// Ties in the metric decide merges, so both matchings must apply the same rules to agree.
const X = [[[1, 0], [0, 1], [1, 1], [2, 0], [0, 2], [1, 2], [2, 1]]];
const METRIC = [[[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, 0], [0, 1]]];
const CLS = [[0.5, 0.1, 0.1, 0.2, 0.05, 0.03, 0.02]];

async function mergeProfiled() {
  let out: { x: number[][][]; size: number[][]; assignment: number[][] } | undefined;
  const info = await tf.profile(() => {
    const r = turboMerge(X, METRIC, CLS, null, { r: 2, alpha: 1 });
    out = { x: r.x.arraySync(), size: r.size.arraySync(), assignment: r.assignment.arraySync() };
    tf.dispose([r.x, r.size, r.assignment]);
  });
  return { out: out!, kernels: info.kernelNames };
}

describe('on a backend registered after tfjs-turbo, with no fused kernel', () => {
  let fused: Awaited<ReturnType<typeof mergeProfiled>>['out'];

  beforeAll(async () => {
    await useBackend('cpu');
    registerFusedKernels();
    fused = (await mergeProfiled()).out;
    registerStandIn('turbo-late');
    await tf.setBackend('turbo-late');
  });
  afterAll(() => tf.env().set(COMPOSITE_MATCHING_FLAG, 'auto'));

  test('turboMerge registers the composite as its kernel and runs it through runKernel', async () => {
    expect(tf.getKernel(TurboMerge, 'turbo-late')).toBeUndefined();
    const before = tf.memory().numTensors;
    const { out, kernels } = await mergeProfiled();
    expect(tf.memory().numTensors).toBe(before);
    expect(kernels).toContain(TurboMerge);
    expect(tf.getKernel(TurboMerge, 'turbo-late')).toBeDefined();
    expect(hasFusedKernel(TurboMerge, 'turbo-late')).toBe(false);
    expect(out.assignment).toEqual(fused.assignment);
    expect(out.size).toEqual(fused.size);
  });

  test('the flag moves the matching onto the device and back, with the same merge', async () => {
    tf.env().set(COMPOSITE_MATCHING_FLAG, 'device');
    const device = await mergeProfiled();
    tf.env().set(COMPOSITE_MATCHING_FLAG, 'readback');
    const readback = await mergeProfiled();
    // The on-device ranking compares every pair of scores with Greater; the read-back one sorts in JS.
    expect(device.kernels).toEqual(expect.arrayContaining([TurboMerge, 'Greater']));
    expect(readback.kernels).toContain(TurboMerge);
    expect(readback.kernels).not.toContain('Greater');
    expect(device.out.assignment).toEqual(readback.out.assignment);
    expect(device.out.assignment).toEqual(fused.assignment);
  });

  test('a value outside the three modes is refused and the flag keeps its value', () => {
    tf.env().set(COMPOSITE_MATCHING_FLAG, 'device');
    expect(() => tf.env().set(COMPOSITE_MATCHING_FLAG, 'gpu')).toThrow(/TURBO_COMPOSITE_MATCHING must be 'auto', 'device' or 'readback', got gpu/);
    expect(compositeMatching()).toBe('device');
  });
});

describe('fused kernels take precedence over the composite', () => {
  const calls: string[] = [];
  let reference: Awaited<ReturnType<typeof mergeProfiled>>['out'];
  /** A "fused" TurboMerge for `backendName` that records its calls and runs the cpu kernel. */
  function countingKernel(backendName: string): tf.KernelConfig {
    const cpu = tf.getKernel(TurboMerge, 'cpu')!;
    return { kernelName: TurboMerge, backendName, kernelFunc: (args) => (calls.push(backendName), cpu.kernelFunc(args)) };
  }

  beforeAll(async () => {
    await useBackend('cpu');
    registerFusedKernels();
    reference = (await mergeProfiled()).out;
  });
  beforeEach(() => (calls.length = 0));

  test('a backend folder added with addBackendKernels replaces the composite already registered', async () => {
    registerStandIn('turbo-fused');
    registerTurboKernels('turbo-fused');
    expect(hasFusedKernel(TurboMerge, 'turbo-fused')).toBe(false);
    const kernel = countingKernel('turbo-fused');
    addBackendKernels({ backendName: 'turbo-fused', available: () => [kernel] });
    registerFusedKernels();
    expect(tf.getKernel(TurboMerge, 'turbo-fused')?.kernelFunc).toBe(kernel.kernelFunc);
    await tf.setBackend('turbo-fused');
    await mergeProfiled();
    expect(calls).toEqual(['turbo-fused']);
  });

  test("an app's own kernel is neither replaced nor shadowed by the composite", async () => {
    registerStandIn('turbo-app');
    const kernel = countingKernel('turbo-app');
    tf.registerKernel(kernel);
    registerTurboKernels();
    registerFusedKernels();
    expect(tf.getKernel(TurboMerge, 'turbo-app')?.kernelFunc).toBe(kernel.kernelFunc);
    await tf.setBackend('turbo-app');
    const { out } = await mergeProfiled();
    expect(calls).toEqual(['turbo-app']);
    expect(out).toEqual(reference);
  });
});
