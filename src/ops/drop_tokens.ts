// TurboDropTokens: BLIP's text-side reduction of the image tokens (docs/ALGORITHM.md, "BLIP's text side").
// Runs through tfjs's kernel registry: webgl and webgpu have GPU kernels that score, rank and gather
// on the device; every other backend runs the composite (tfjs ops: sum, topk, two gathers), whose
// cost is a [B, N] reduction and two gathers, small next to the cross-attention that made the scores.
import * as tf from '@tensorflow/tfjs-core';
import { DROP_GRAPH_ATTRS, TurboDropTokens, TurboDropTokensAttrs } from './kernel_names';
import { TurboDropTokensKernelAttrs, dropPlan } from './kernels/drop_plan';
import { runTurboKernel } from './run_kernel';

export { keptTokenCount } from './kernels/drop_plan';

export const DEFAULT_DROP_ATTRS: Omit<TurboDropTokensAttrs, 'layer'> = { dropRate: 0.07, dropMax: 0.8, firstTokenOnly: false };

export interface DropResult {
  tokens: tf.Tensor3D;
  mask: tf.Tensor;
  kept: tf.Tensor2D;
}

/**
 * See TurboDropTokens in kernel_names.ts for the inputs; startCount is N0. Never keeps more tokens
 * than there are, nor fewer than 1. mask is [B or 1, 1, ..., 1, N].
 */
export function dropTokens(
  probs: tf.Tensor4D,
  tokens: tf.Tensor3D,
  mask: tf.Tensor,
  startCount: number,
  attrs: TurboDropTokensAttrs,
): DropResult {
  const kernelAttrs: TurboDropTokensKernelAttrs = { ...attrs, startCount };
  // Shapes checked here, before any kernel, so every backend refuses the same inputs the same way.
  dropPlan(probs.shape, tokens.shape, mask.shape, kernelAttrs);
  const [keptTokens, keptMask, kept] = runTurboKernel(TurboDropTokens, { probs, tokens, mask }, kernelAttrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { tokens: keptTokens as tf.Tensor3D, mask: keptMask, kept: kept as tf.Tensor2D };
}

/** Reads TurboDropTokensAttrs from a graph node's attributes by their graph names. */
export function decodeDropAttrs(get: (graphName: string) => unknown): TurboDropTokensAttrs {
  const out: Record<string, unknown> = { ...DEFAULT_DROP_ATTRS, layer: 0 };
  for (const { key, name, kind } of DROP_GRAPH_ATTRS) {
    const v = get(name);
    if (v === undefined) continue;
    out[key] = kind === 'bool' ? Boolean(v) : Number(v);
  }
  return out as unknown as TurboDropTokensAttrs;
}
