// The composite TurboMerge with the matching on the device too: tfjs core ops only, no read-back,
// so webgl and webgpu never stall on a GPU→CPU copy inside the model. The same steps as
// src/turbo/merge.ts (docs/ALGORITHM.md) and the --portable lowering (src/rewrite/portable_merge.ts),
// in float32 like the official code. Every index vector depends only on N, p and r, which are
// known on the host from the shapes, so they are built here; only the scores are data.
//
// Steps, shapes per batch (ns sources, nd destinations, n' = N − r outputs):
//   unit metric → cosine scores [ns, nd] (matMul) → best = max, dst = first argmax (min index
//   among the maxima: the same tie rule on every backend) → E = best − c·clsAttn[src] [ns]
//   → rank of each source in descending-E order, lower index first on ties, by pairwise
//   comparison [ns, ns] (no topk: webgl and webgpu hand topk back to the CPU) → the r first
//   merge into their dst, the others keep their order (cumsum) or come in E order (p = 0)
//   → dest per token [N] → M = [dest == o] [n', N] → x' = M·(x·size) / M·size, size' = M·size.
// Indices travel as float32 (exact below 2^24) because webgl stores everything as floats.
import * as tf from '@tensorflow/tfjs-core';
import { effectiveR, mergeWeight } from '../../../turbo/schedule';
import { TurboMergeAttrs } from '../../kernel_names';
import type { MergeResult } from './merge_readback';

export function turboMergeOnDevice(
  x: tf.Tensor3D,
  metric: tf.Tensor3D,
  clsAttn: tf.Tensor2D,
  size: tf.Tensor2D | null,
  attrs: TurboMergeAttrs,
): MergeResult {
  const [batch, n] = x.shape;
  const p = attrs.protectedTokens;
  const r = effectiveR(attrs.r, n, p, attrs.rThreshold);
  return tf.tidy(() => {
    const s = size ?? (tf.ones([batch, n]) as tf.Tensor2D);
    if (r === 0) {
      // Nothing merges (r clamped to 0 or below the threshold): the inputs, untouched.
      const identity = tf.broadcastTo(tf.range(0, n, 1, 'int32'), [batch, n]) as tf.Tensor2D;
      return { x: tf.clone(x), size: size ? tf.clone(size) : s, assignment: identity };
    }
    const c = mergeWeight(attrs.alpha, attrs.beta, attrs.gamma, attrs.layer);
    const src = range(n).filter((i) => i >= p && i % 2 === 0);
    const dst = range(n).filter((i) => i >= p && i % 2 === 1);
    const ns = src.length;
    const nd = dst.length;
    const nOut = n - r;
    const dstBase = p + ns - r; // output position of the first destination
    const srcIdx = tf.tensor1d(src, 'int32');

    const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(metric), 2, true)), 1e-12);
    const unit = tf.div(metric, norm) as tf.Tensor3D;
    const scores = tf.matMul(tf.gather(unit, srcIdx, 1) as tf.Tensor3D, tf.gather(unit, tf.tensor1d(dst, 'int32'), 1) as tf.Tensor3D, false, true); // [B, ns, nd]
    const best = tf.max(scores, 2); // [B, ns]
    // First j reaching the maximum: j where scores == best, nd elsewhere, then the minimum.
    const isBest = tf.cast(tf.equal(scores, tf.expandDims(best, 2)), 'float32');
    const j = tf.range(0, nd, 1, 'float32');
    const bestDst = tf.min(tf.add(tf.mul(isBest, tf.sub(j, nd)), nd), 2); // [B, ns]
    const informativity = tf.sub(best, tf.mul(tf.gather(clsAttn, srcIdx, 1), c)); // [B, ns]

    // rank[a] = #{a' : E[a'] > E[a]} + #{a' < a : E[a'] == E[a]}, a's place in the stable descending order.
    const eRow = tf.expandDims(informativity, 1); // [B, 1, ns]: E[a'] along the last axis
    const eCol = tf.expandDims(informativity, 2); // [B, ns, 1]: E[a]
    const lower = tf.tensor2d(lowerTriangle(ns), [ns, ns]); // [a, a'] = 1 where a' < a
    const ahead = tf.add(tf.cast(tf.greater(eRow, eCol), 'float32'), tf.mul(tf.cast(tf.equal(eRow, eCol), 'float32'), lower));
    const rank = tf.sum(ahead, 2); // [B, ns]
    const isMerged = tf.cast(tf.less(rank, r), 'float32');
    const notMerged = tf.sub(1, isMerged);
    // Unmerged sources after the protected tokens: in token order when p > 0, in E order when p = 0.
    const keptPos = p > 0 ? tf.add(tf.cumsum(notMerged, 1), p - 1) : tf.sub(rank, r);
    const srcDest = tf.add(tf.mul(isMerged, tf.add(bestDst, dstBase)), tf.mul(notMerged, keptPos)); // [B, ns]

    // dest for every token: [protected, sources, destinations], then put back in token order.
    const fixed = (values: number[]) => tf.broadcastTo(tf.tensor1d(values, 'float32'), [batch, values.length]);
    const grouped = tf.concat([...(p > 0 ? [fixed(range(p))] : []), srcDest, fixed(dst.map((_, k) => dstBase + k))], 1);
    const column = new Int32Array(n);
    for (let t = 0; t < p; t++) column[t] = t;
    src.forEach((t, a) => (column[t] = p + a));
    dst.forEach((t, k) => (column[t] = p + ns + k));
    const dest = tf.gather(grouped, tf.tensor1d(column, 'int32'), 1); // [B, N]

    // M[b, o, i] = 1 when token i goes to output o (equal, not oneHot: see turbo_merge.ts).
    const outIdx = tf.reshape(tf.range(0, nOut, 1, 'float32'), [1, nOut, 1]);
    const m = tf.cast(tf.equal(tf.expandDims(dest, 1), outIdx), 'float32') as tf.Tensor3D; // [B, n', N]
    const sizeOut = tf.squeeze(tf.matMul(m, tf.expandDims(s, 2) as tf.Tensor3D), [2]) as tf.Tensor2D;
    const xSum = tf.matMul(m, tf.mul(x, tf.expandDims(s, 2)) as tf.Tensor3D);
    const xOut = tf.div(xSum, tf.expandDims(sizeOut, 2)) as tf.Tensor3D;
    return { x: xOut, size: sizeOut, assignment: tf.cast(dest, 'int32') as tf.Tensor2D };
  });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function lowerTriangle(k: number): Float32Array {
  const out = new Float32Array(k * k);
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) out[a * k + b] = 1;
  return out;
}
