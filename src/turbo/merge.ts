// Turbo token merging as pure functions over flat Float32Arrays (no tfjs). One function computes
// the assignment (which output token every input token goes to); merge, unmerge and visualisation
// all consume that same assignment.
//
// Bipartite split: the first p tokens are protected (class token; DeiT adds distillation) and are
// never merged. Among the rest, even positions are sources, odd positions destinations, by global
// index. For p = 1 this is exactly the official code, which keeps the class token as source 0 with
// E = -inf: it then sorts first among the unmerged sources, which is where we put it.

export interface Assignment {
  batch: number;
  /** Tokens in. */
  n: number;
  /** Tokens out (n - r). */
  nOut: number;
  /** [batch, n]: output index of every input token. */
  dest: Int32Array;
}

export interface MatchParams {
  /** Tokens to merge, already clamped (see schedule.effectiveR); 0 = identity. */
  r: number;
  /** Weight of class-token attention: c = 30·alpha·beta^|gamma − l|; 0 = ToMe. */
  c: number;
  protectedTokens: number;
}

export function identityAssignment(batch: number, n: number): Assignment {
  const dest = new Int32Array(batch * n);
  for (let b = 0; b < batch; b++) for (let i = 0; i < n; i++) dest[b * n + i] = i;
  return { batch, n, nOut: n, dest };
}

/**
 * metric [B, N, d] (head-averaged keys), clsAttn [B, N] (head-averaged class-token attention).
 * Returns the assignment merging the r sources of largest E = R − c·clsAttn into their most
 * similar destination.
 */
export function bipartiteMatch(
  metric: ArrayLike<number>,
  clsAttn: ArrayLike<number>,
  batch: number,
  n: number,
  d: number,
  { r, c, protectedTokens: p }: MatchParams,
): Assignment {
  if (r <= 0) return identityAssignment(batch, n);
  const srcIdx: number[] = [];
  const dstIdx: number[] = [];
  for (let i = p; i < n; i++) (i % 2 === 0 ? srcIdx : dstIdx).push(i);
  const ns = srcIdx.length;
  const nd = dstIdx.length;
  const nOut = n - r;
  const dest = new Int32Array(batch * n);
  const inv = new Float64Array(n);
  const best = new Int32Array(ns);
  const score = new Float64Array(ns);
  const order = Array.from({ length: ns }, (_, k) => k);

  for (let b = 0; b < batch; b++) {
    const m = b * n * d;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += metric[m + i * d + k] ** 2;
      inv[i] = 1 / Math.max(Math.sqrt(s), 1e-12);
    }
    // R_i = max_j cos(A_i, B_j); first index wins ties, like torch.max.
    for (let a = 0; a < ns; a++) {
      const ia = m + srcIdx[a] * d;
      let bestCos = -Infinity;
      let bestJ = 0;
      for (let j = 0; j < nd; j++) {
        const jb = m + dstIdx[j] * d;
        let dot = 0;
        for (let k = 0; k < d; k++) dot += metric[ia + k] * metric[jb + k];
        const cos = dot * inv[srcIdx[a]] * inv[dstIdx[j]];
        if (cos > bestCos) {
          bestCos = cos;
          bestJ = j;
        }
      }
      best[a] = bestJ;
      score[a] = bestCos - c * clsAttn[b * n + srcIdx[a]];
    }
    order.sort((x, y) => score[y] - score[x] || x - y);

    // Output: protected, unmerged sources, destinations (original order).
    const row = b * n;
    for (let i = 0; i < p; i++) dest[row + i] = i;
    const unmerged = order.slice(r);
    if (p > 0) unmerged.sort((x, y) => x - y);
    unmerged.forEach((a, k) => (dest[row + srcIdx[a]] = p + k));
    const dstBase = p + unmerged.length;
    dstIdx.forEach((t, j) => (dest[row + t] = dstBase + j));
    for (let k = 0; k < r; k++) {
      const a = order[k];
      dest[row + srcIdx[a]] = dstBase + best[a];
    }
  }
  return { batch, n, nOut, dest };
}

/**
 * Size-weighted merge: x [B, N, C], size [B, N] or null (all 1) → x' [B, N', C], size' [B, N'].
 * Like the official merge_wavg: sum x·size and size per output token, then divide.
 */
export function mergeWeighted(
  x: ArrayLike<number>,
  size: ArrayLike<number> | null,
  a: Assignment,
  channels: number,
  out?: { x: Float32Array; size: Float32Array },
): { x: Float32Array; size: Float32Array } {
  const { batch, n, nOut, dest } = a;
  const C = channels;
  const xo = out?.x ?? new Float32Array(batch * nOut * C);
  const so = out?.size ?? new Float32Array(batch * nOut);
  const acc = new Float64Array(nOut * C);
  const sacc = new Float64Array(nOut);
  for (let b = 0; b < batch; b++) {
    acc.fill(0);
    sacc.fill(0);
    for (let i = 0; i < n; i++) {
      const s = size ? size[b * n + i] : 1;
      const o = dest[b * n + i];
      sacc[o] += s;
      const xi = (b * n + i) * C;
      const oo = o * C;
      for (let k = 0; k < C; k++) acc[oo + k] += x[xi + k] * s;
    }
    for (let o = 0; o < nOut; o++) {
      so[b * nOut + o] = sacc[o];
      const inv = 1 / sacc[o];
      const xo0 = (b * nOut + o) * C;
      for (let k = 0; k < C; k++) xo[xo0 + k] = acc[o * C + k] * inv;
    }
  }
  return { x: xo, size: so };
}

/** y [B, N', C] → [B, N, C]: every input token gets the result of the token it was merged into. */
export function unmerge(y: ArrayLike<number>, a: Assignment, channels: number): Float32Array {
  const { batch, n, nOut, dest } = a;
  const out = new Float32Array(batch * n * channels);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      const src = (b * nOut + dest[b * n + i]) * channels;
      const dst = (b * n + i) * channels;
      for (let k = 0; k < channels; k++) out[dst + k] = y[src + k];
    }
  }
  return out;
}

/** log(size) per key token: the proportional-attention bias, [B, N] → flat [B, N]. */
export function logSizes(size: ArrayLike<number>): Float32Array {
  return Float32Array.from(size, Math.log);
}
