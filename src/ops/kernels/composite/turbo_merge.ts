// Composite Turbo ops from tfjs core ops, for backends without a fused kernel (webgl, webgpu,
// tfjs-node's 'tensorflow'). The heavy part, the size-weighted merge of x [B, N, C], runs on the
// backend as a one-hot matmul (exact sums; wasm and webgl have no UnsortedSegmentSum). The matching
// itself needs a sort and reads back only metric [B, N, d] and clsAttn [B, N], which are small.
import * as tf from '@tensorflow/tfjs-core';
import { identityAssignment } from '../../../turbo/merge';
import { TurboMergeAttrs } from '../../kernel_names';
import { matchTokens } from '../match';

export interface MergeResult {
  x: tf.Tensor3D;
  size: tf.Tensor2D;
  assignment: tf.Tensor2D;
}

export function turboMergeComposite(
  x: tf.Tensor3D,
  metric: tf.Tensor3D,
  clsAttn: tf.Tensor2D,
  size: tf.Tensor2D | null,
  attrs: TurboMergeAttrs,
): MergeResult {
  const [batch, n] = x.shape;
  const a = attrs.r > 0 ? matchTokens(metric.dataSync(), clsAttn.dataSync(), { batch, n, d: metric.shape[2] }, attrs) : identityAssignment(batch, n);
  return tf.tidy(() => {
    const assignment = tf.tensor2d(a.dest, [batch, n], 'int32');
    // onehot [B, N, N'] transposed: out = Mᵀ·(x·size) / Mᵀ·size
    const m = tf.transpose(tf.oneHot(assignment, a.nOut, 1, 0, 'float32'), [0, 2, 1]) as tf.Tensor3D;
    const s = size ?? tf.ones([batch, n]);
    const weighted = tf.mul(x, tf.expandDims(s, 2)) as tf.Tensor3D;
    const sizeOut = tf.squeeze(tf.matMul(m, tf.expandDims(s, 2) as tf.Tensor3D), [2]) as tf.Tensor2D;
    const xOut = tf.div(tf.matMul(m, weighted), tf.expandDims(sizeOut, 2)) as tf.Tensor3D;
    return { x: xOut, size: sizeOut, assignment };
  });
}

export function turboUnmergeComposite(y: tf.Tensor3D, assignment: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, n] = assignment.shape;
    const batchOffsets = tf.mul(tf.range(0, batch, 1, 'int32'), y.shape[1]);
    const flatIdx = tf.add(assignment, tf.expandDims(batchOffsets, 1));
    const rows = tf.gather(tf.reshape(y, [-1, y.shape[2]]), tf.reshape(flatIdx, [-1]));
    return tf.reshape(rows, [batch, n, y.shape[2]]) as tf.Tensor3D;
  });
}

export function propAttnBiasComposite(size: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => tf.reshape(tf.log(size), [size.shape[0], 1, 1, size.shape[1]]) as tf.Tensor4D);
}
