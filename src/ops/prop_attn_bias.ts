// proportionalAttentionBias: log(size) on the key axis, shaped to broadcast over attention logits
// [B, H, N_q, N_k], so a token that stands for s merged tokens is attended to as s tokens.
import * as tf from '@tensorflow/tfjs-core';
import { TurboPropAttnBias } from './kernel_names';
import { runTurboKernel } from './run_kernel';

/** size [B, N] → [B, 1, 1, N]. */
export function proportionalAttentionBias(size: tf.Tensor): tf.Tensor4D {
  if (size.rank !== 2) throw new Error(`proportionalAttentionBias: size must be rank 2 [B, N], got shape [${size.shape}]`);
  if (size.dtype !== 'float32') throw new Error(`proportionalAttentionBias: size must be float32, got ${size.dtype}`);
  return runTurboKernel(TurboPropAttnBias, { size }) as tf.Tensor4D;
}
