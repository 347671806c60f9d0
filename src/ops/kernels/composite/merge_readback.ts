// The composite TurboMerge's read-back matching: for backends without a fused kernel (webgl,
// webgpu, tfjs-node's 'tensorflow' without the op library). The heavy part, the size-weighted merge
// of x [B, N, C], runs on the backend as a one-hot matmul (exact sums; wasm and webgl have no
// UnsortedSegmentSum). The matching itself needs a sort and reads back only metric [B, N, d] and
// clsAttn [B, N], which are small.
import * as tf from '@tensorflow/tfjs-core';
import { Assignment, identityAssignment } from '../../../turbo/merge';
import { MERGE_SCORES, TurboMergeAttrs } from '../../kernel_names';
import { matchTokens, mergeModeOf } from '../match';

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
  // MCTF weighs prior sizes too: read back only when that score needs them.
  const sizes = size && attrs.score === MERGE_SCORES.indexOf('mctf') ? size.dataSync() : null;
  const a = attrs.r > 0 ? matchTokens(metric.dataSync(), clsAttn.dataSync(), { batch, n, d: metric.shape[2] }, attrs, sizes) : identityAssignment(batch, n);
  if (a.nOut === n) {
    // Nothing merged (r clamped to 0 or below the threshold): the inputs, untouched.
    return tf.tidy(() => ({
      x: tf.clone(x),
      size: size ? tf.clone(size) : (tf.ones([batch, n]) as tf.Tensor2D),
      assignment: tf.tensor2d(a.dest, [batch, n], 'int32'),
    }));
  }
  const keep = representatives(a);
  return tf.tidy(() => {
    const assignment = tf.tensor2d(a.dest, [batch, n], 'int32');
    // M [B, N', N], M[b, o, i] = 1 where token i goes to output o. Built with equal() rather than
    // oneHot(): tf.oneHot needs depth >= 2 (N' can be 1), and the wasm OneHot kernel (tfjs 4.22)
    // ignores dtype 'float32' and writes int32 bit patterns (1 → 1.4e-45).
    const outIdx = tf.reshape(tf.range(0, a.nOut, 1, 'int32'), [1, a.nOut, 1]);
    const m = tf.cast(tf.equal(tf.expandDims(assignment, 1), outIdx), 'float32') as tf.Tensor3D;
    const s = size ?? (tf.ones([batch, n]) as tf.Tensor2D);
    const sizeOut = tf.squeeze(tf.matMul(m, tf.expandDims(s, 2) as tf.Tensor3D), [2]) as tf.Tensor2D;
    // x' = base + Mᵀ·(size·(x − base[assignment])) / size', base = one input row per output token.
    // Equal to Mᵀ·(x·size) / Mᵀ·size, but a token nothing merged into comes out bit-exact (its
    // delta is 0), as on the fused path, instead of picking up the rounding of x·size/size.
    const base = gatherRows(x, keep, batch, a.nOut);
    const spread = gatherRows(base, a.dest, batch, n);
    const delta = tf.mul(tf.sub(x, spread), tf.expandDims(s, 2)) as tf.Tensor3D;
    const xOut = tf.add(base, tf.div(tf.matMul(m, delta), tf.expandDims(sizeOut, 2))) as tf.Tensor3D;
    if (mergeModeOf(attrs) === 'mlerp') return { x: mlerpRescale(xOut, x, m), size: sizeOut, assignment };
    return { x: xOut, size: sizeOut, assignment };
  });
}

/**
 * MLERP (docs/ALGORITHM.md): each merged row of the mean rescaled to the largest norm among its
 * members, mean · max‖x_i‖ / max(‖mean‖, 1e−12). M [B, N', N] is 0/1 and norms are ≥ 0, so the
 * largest member norm is max over i of M·‖x_i‖. A row only one token went to keeps the mean's
 * (bit-exact) copy.
 */
function mlerpRescale(mean: tf.Tensor3D, x: tf.Tensor3D, m: tf.Tensor3D): tf.Tensor3D {
  const norms = tf.sqrt(tf.sum(tf.square(x), 2)); // [B, N]
  const maxNorm = tf.max(tf.mul(m, tf.expandDims(norms, 1)), 2, true); // [B, N', 1]
  const meanNorm = tf.maximum(tf.sqrt(tf.sum(tf.square(mean), 2, true)), 1e-12);
  const merged = tf.greater(tf.sum(m, 2, true), 1);
  return tf.where(merged, tf.mul(mean, tf.div(maxNorm, meanNorm)), mean) as tf.Tensor3D;
}

/**
 * t [B, M, C], idx [B, K] (row indices per batch) → [B, K, C]. A flat gather on [B·M, C]: the wasm
 * GatherV2 kernel (tfjs 4.22) returns wrong rows with batchDims = 1 when K ≠ M.
 */
function gatherRows(t: tf.Tensor3D, idx: Int32Array, batch: number, k: number): tf.Tensor3D {
  const [, m, c] = t.shape;
  const flat = new Int32Array(batch * k);
  for (let b = 0; b < batch; b++) for (let j = 0; j < k; j++) flat[b * k + j] = b * m + idx[b * k + j];
  return tf.reshape(tf.gather(tf.reshape(t, [batch * m, c]), tf.tensor1d(flat, 'int32')), [batch, k, c]);
}

/** [B, N'] one input token per output token (the first that went there). */
function representatives({ batch, n, nOut, dest }: Assignment): Int32Array {
  const keep = new Int32Array(batch * nOut);
  for (let b = 0; b < batch; b++) {
    for (let i = n - 1; i >= 0; i--) keep[b * nOut + dest[b * n + i]] = i;
  }
  return keep;
}
