// A tiny, independent ToMe reference: bipartite soft matching + merge_wavg as in ToMe's
// tome/merge.py (facebookresearch/ToMe), one batch row at a time on plain arrays, in float64.
// It shares no code with src/turbo so it can check that alpha = 0 is plain ToMe.
//
//   metric = metric / |metric|;  a, b = metric[::2], metric[1::2];  scores = a @ b^T
//   class_token:   scores[0, :] = -inf        distill_token: scores[:, 0] = -inf
//   node_max, node_idx = scores.max(-1);      edge_idx = node_max.argsort(descending)
//   unm_idx = edge_idx[r:];  src_idx = edge_idx[:r];  dst_idx = node_idx[src_idx]
//   class_token: unm_idx = sort(unm_idx)
//   merge(x) = cat([unm, dst.scatter_reduce(dst_idx, src, 'sum')])
//              (distill: cat([unm[:1], dst[:1], unm[1:], dst[1:]]))
//   merge_wavg: x = merge(x * size) / merge(size), size = merge(size)

export interface ToMeResult {
  x: number[][];
  size: number[];
  /** Output index of every input token (derived from unm_idx/src_idx/dst_idx). */
  dest: number[];
}

export function tomeMergeRow(
  x: number[][],
  metric: number[][],
  size: number[] | null,
  r: number,
  classToken: boolean,
  distillToken: boolean,
): ToMeResult {
  const t = x.length;
  const protectedCount = (classToken ? 1 : 0) + (distillToken ? 1 : 0);
  r = Math.min(r, Math.floor((t - protectedCount) / 2));
  const s = size ?? x.map(() => 1);
  if (r <= 0) return { x: x.map((row) => row.slice()), size: s.slice(), dest: x.map((_, i) => i) };

  const unit = metric.map((row) => {
    const norm = Math.sqrt(row.reduce((acc, v) => acc + v * v, 0));
    return row.map((v) => v / norm);
  });
  const a = unit.filter((_, i) => i % 2 === 0);
  const b = unit.filter((_, i) => i % 2 === 1);
  const scores = a.map((ai) => b.map((bj) => ai.reduce((acc, v, k) => acc + v * bj[k], 0)));
  if (classToken) scores[0].fill(-Infinity);
  if (distillToken) scores.forEach((row) => (row[0] = -Infinity));

  // max over dst (first index wins ties, like torch.max), then argsort descending (stable).
  const nodeMax = scores.map((row) => Math.max(...row));
  const nodeIdx = scores.map((row, i) => row.indexOf(nodeMax[i]));
  const edgeIdx = a.map((_, i) => i).sort((i, j) => nodeMax[j] - nodeMax[i] || i - j);
  let unmIdx = edgeIdx.slice(r);
  const srcIdx = edgeIdx.slice(0, r);
  const dstIdx = srcIdx.map((i) => nodeIdx[i]);
  if (classToken) unmIdx = unmIdx.slice().sort((i, j) => i - j);

  // merge_wavg on [x * size | size]
  const src = x.filter((_, i) => i % 2 === 0).map((row, i) => [...row.map((v) => v * s[2 * i]), s[2 * i]]);
  const dst = x.filter((_, i) => i % 2 === 1).map((row, j) => [...row.map((v) => v * s[2 * j + 1]), s[2 * j + 1]]);
  srcIdx.forEach((i, k) => {
    const target = dst[dstIdx[k]];
    src[i].forEach((v, c) => (target[c] += v));
  });
  const unm = unmIdx.map((i) => src[i]);
  const rows = distillToken ? [unm[0], dst[0], ...unm.slice(1), ...dst.slice(1)] : [...unm, ...dst];
  const C = x[0].length;

  // Where every input token went, in the same output order.
  const dest = new Array<number>(t).fill(-1);
  const unmOut = (k: number) => (distillToken ? (k === 0 ? 0 : k + 1) : k);
  const dstOut = (j: number) => (distillToken ? (j === 0 ? 1 : unm.length + j) : unm.length + j);
  unmIdx.forEach((i, k) => (dest[2 * i] = unmOut(k)));
  dst.forEach((_, j) => (dest[2 * j + 1] = dstOut(j)));
  srcIdx.forEach((i, k) => (dest[2 * i] = dstOut(dstIdx[k])));

  return { x: rows.map((row) => row.slice(0, C).map((v) => v / row[C])), size: rows.map((row) => row[C]), dest };
}
