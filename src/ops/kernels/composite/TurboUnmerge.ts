// Composite TurboUnmerge: one flat gather, so every backend runs it.
import * as tf from '@tensorflow/tfjs-core';
import { TurboUnmerge } from '../../kernel_names';
import type { CompositeKernel } from '../../kernel_registry';

/** y [B, N', C], assignment [B, N] int32 → [B, N, C]: row i of batch b is y[b, assignment[b, i]]. */
function turboUnmerge(y: tf.Tensor3D, assignment: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, n] = assignment.shape;
    const [, nOut, c] = y.shape;
    // Flat row indices b·N' + assignment, kept int32 (tf.mul(int32, number) would give float32).
    const offsets = tf.mul(tf.range(0, batch, 1, 'int32'), tf.scalar(nOut, 'int32'));
    const flatIdx = tf.reshape(tf.add(assignment, tf.expandDims(offsets, 1)), [-1]);
    return tf.reshape(tf.gather(tf.reshape(y, [batch * nOut, c]), flatIdx), [batch, n, c]) as tf.Tensor3D;
  });
}

export const turboUnmergeKernel: CompositeKernel = {
  kernelName: TurboUnmerge,
  // runKernel passes the op's own Tensors through, so tfjs ops can take them as they are.
  kernelFunc: ({ inputs }) => turboUnmerge(inputs.y as tf.Tensor3D, inputs.assignment as tf.Tensor2D),
};
