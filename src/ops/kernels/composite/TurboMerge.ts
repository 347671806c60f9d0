// Composite TurboMerge: tfjs ops only, so it is the kernel of every backend without a fused one.
// The TURBO_COMPOSITE_MATCHING flag (src/ops/flags.ts) picks where the matching runs.
import * as tf from '@tensorflow/tfjs-core';
import { compositeMatching } from '../../flags';
import { TurboMerge, TurboMergeAttrs } from '../../kernel_names';
import type { CompositeKernel } from '../../kernel_registry';
import { turboMergeOnDevice } from './merge_on_device';
import { turboMergeComposite } from './merge_readback';

/** Backends where 'auto' matches on the device: none while read-back measures faster everywhere. */
const DEVICE_MATCHING_BACKENDS = new Set<string>([]);

function matchOnDevice(): boolean {
  const mode = compositeMatching();
  return mode === 'device' || (mode === 'auto' && DEVICE_MATCHING_BACKENDS.has(tf.getBackend()));
}

const turboMerge: tf.KernelFunc = ({ inputs, attrs }) => {
  // runKernel passes the op's own Tensors through, so tfjs ops can take them as they are.
  const { x, metric, clsAttn, size } = inputs as unknown as { x: tf.Tensor3D; metric: tf.Tensor3D; clsAttn: tf.Tensor2D; size?: tf.Tensor2D };
  const a = attrs as unknown as TurboMergeAttrs;
  // The device matching is Turbo's score with the mean only; other scores and MLERP read back.
  const turboMean = !a.score && !a.mergeMode;
  const merge = turboMean && matchOnDevice() ? turboMergeOnDevice : turboMergeComposite;
  const out = merge(x, metric, clsAttn, size ?? null, a);
  return [out.x, out.size, out.assignment];
};

export const turboMergeKernel: CompositeKernel = { kernelName: TurboMerge, kernelFunc: turboMerge };
