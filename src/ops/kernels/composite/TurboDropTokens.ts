// Composite TurboDropTokens: a sum, tf.topk and two flat gathers, so every backend runs it (on webgl
// and webgpu tf.topk reads the scores back; those backends have fused kernels instead).
import * as tf from '@tensorflow/tfjs-core';
import { TurboDropTokens } from '../../kernel_names';
import type { CompositeKernel } from '../../kernel_registry';
import { TurboDropTokensKernelAttrs, dropPlan } from '../drop_plan';

/** → [tokens [B, k, D], mask [B, 1, ..., k], kept [B, k] int32]; see TurboDropTokens in kernel_names.ts. */
function dropTokens(probs: tf.Tensor4D, tokens: tf.Tensor3D, mask: tf.Tensor, attrs: TurboDropTokensKernelAttrs): tf.Tensor[] {
  const plan = dropPlan(probs.shape, tokens.shape, mask.shape, attrs);
  return tf.tidy(() => {
    const score = tf.sum(plan.rows === plan.textLen ? probs : tf.slice(probs, [0, 0, 0, 0], [-1, -1, plan.rows, -1]), [1, 2]);
    const kept = tf.topk(score, plan.keep, true).indices as tf.Tensor2D;
    const keptTokens = gatherRows(tokens, kept);
    const flatMask = tf.broadcastTo(tf.reshape(mask, [plan.maskBatch, plan.n]), [plan.batch, plan.n]);
    const keptMask = tf.reshape(gatherRows(flatMask, kept), plan.maskShape);
    return [keptTokens, keptMask, kept];
  });
}

/**
 * x [B, N, ...] → x[b, kept[b, j], ...] as [B, k, ...]. Through one flat gather: tf.gather with
 * batchDims = 1 returns wrong rows for b > 0 on the wasm backend (tfjs 4.22).
 */
function gatherRows(x: tf.Tensor, kept: tf.Tensor2D): tf.Tensor {
  const [b, n, ...rest] = x.shape;
  const offsets = tf.reshape(tf.mul(tf.range(0, b, 1, 'int32'), tf.scalar(n, 'int32')), [b, 1]);
  const flatIndex = tf.reshape(tf.add(kept, offsets), [-1]);
  return tf.reshape(tf.gather(tf.reshape(x, [b * n, ...rest]), flatIndex), [b, kept.shape[1], ...rest]);
}

export const turboDropTokensKernel: CompositeKernel = {
  kernelName: TurboDropTokens,
  // runKernel passes the op's own Tensors through, so tfjs ops can take them as they are.
  kernelFunc: ({ inputs, attrs }) =>
    dropTokens(inputs.probs as tf.Tensor4D, inputs.tokens as tf.Tensor3D, inputs.mask as tf.Tensor, attrs as unknown as TurboDropTokensKernelAttrs),
};
