// Composite TurboPropAttnBias: log and reshape, so every backend runs it.
import * as tf from '@tensorflow/tfjs-core';
import { TurboPropAttnBias } from '../../kernel_names';
import type { CompositeKernel } from '../../kernel_registry';

function propAttnBias(size: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => tf.reshape(tf.log(size), [size.shape[0], 1, 1, size.shape[1]]) as tf.Tensor4D);
}

export const turboPropAttnBiasKernel: CompositeKernel = {
  kernelName: TurboPropAttnBias,
  // runKernel passes the op's own Tensors through, so tfjs ops can take them as they are.
  kernelFunc: ({ inputs }) => propAttnBias(inputs.size as tf.Tensor2D),
};
