// Turbo token merging as pure functions over flat Float32Arrays (no tfjs). One function computes
// the assignment (which output token every input token goes to); merge, unmerge and visualisation
// all consume that same assignment.
//
// Bipartite split: the first p tokens are protected (class token; DeiT adds distillation) and are
// never merged. Among the rest, even positions are sources, odd positions destinations, by global
// index. For p = 1 this is exactly the official code, which keeps the class token as source 0 with
// E = -inf: it then sorts first among the unmerged sources, which is where we put it.
//
// Which tokens merge is a pluggable score (docs/ALGORITHM.md): Turbo's informativity (default) or
// PiToMe's energy (pitomeMatch); how a group is averaged is the merge arithmetic: the size-weighted
// mean (default) or ToFu's norm-keeping MLERP (mergeWeighted's `mode`).

export interface Assignment {
  batch: number;
  /** Tokens in. */
  n: number;
  /** Tokens out (n - r). */
  nOut: number;
  /** [batch, n]: output index of every input token. */
  dest: Int32Array;
}

/** Token selection: Turbo's informativity (ToMe at c = 0), PiToMe's energy or MCTF's multi-criteria weight. */
export type MergeScore = 'turbo' | 'pitome' | 'mctf';
/** Merge arithmetic: size-weighted mean or ToFu's MLERP (mean direction, largest member norm). */
export type MergeMode = 'mean' | 'mlerp';

export interface MatchParams {
  /** Tokens to merge, already clamped (see schedule.effectiveR); 0 = identity. */
  r: number;
  /** Weight of class-token attention: c = 30·alpha·beta^|gamma − l|; 0 = ToMe. Turbo score only. */
  c: number;
  protectedTokens: number;
  /** Default 'turbo'. */
  score?: MergeScore;
  /** PiToMe's energy margin m (ELU(cos − m)); used as the float32 it is stored as. PiToMe only. */
  margin?: number;
  /** MCTF's temperatures (similarity, informativeness, size; 0 turns a criterion off), as float32. MCTF only. */
  tau?: { sim: number; info: number; size: number };
  /** Prior token sizes [B, N] (null: all 1): MCTF's size criterion. */
  size?: ArrayLike<number> | null;
}

export function identityAssignment(batch: number, n: number): Assignment {
  const dest = new Int32Array(batch * n);
  for (let b = 0; b < batch; b++) for (let i = 0; i < n; i++) dest[b * n + i] = i;
  return { batch, n, nOut: n, dest };
}

/**
 * The bipartite split among tokens i >= p: even global indices are sources, odd ones destinations
 * (docs/ALGORITHM.md); r must already be clamped (effectiveR).
 */
function bipartiteSplit(n: number, p: number, r: number): { srcIdx: number[]; dstIdx: number[] } {
  const srcIdx: number[] = [];
  const dstIdx: number[] = [];
  for (let i = p; i < n; i++) (i % 2 === 0 ? srcIdx : dstIdx).push(i);
  if (r > srcIdx.length || dstIdx.length === 0) throw new RangeError(`bipartiteMatch: r = ${r} is not clamped for n = ${n}, p = ${p} (see effectiveR)`);
  return { srcIdx, dstIdx };
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
  { r, c, protectedTokens: p, score: kind = 'turbo', margin = 0, tau = { sim: 1, info: 20, size: 40 }, size = null }: MatchParams,
): Assignment {
  if (r <= 0) return identityAssignment(batch, n);
  if (kind === 'pitome') return pitomeMatch(metric, batch, n, d, r, p, margin);
  if (kind === 'mctf') return mctfMatch(metric, clsAttn, size, batch, n, d, r, p, tau);
  const { srcIdx, dstIdx } = bipartiteSplit(n, p, r);
  const ns = srcIdx.length;
  const nd = dstIdx.length;
  const nOut = n - r;
  const dest = new Int32Array(batch * n);
  const srcUnit = new Float64Array(ns * d);
  const dstUnit = new Float64Array(nd * d);
  const best = new Int32Array(ns);
  const score = new Float64Array(ns);
  const order = Array.from({ length: ns }, (_, k) => k);

  for (let b = 0; b < batch; b++) {
    // Normalise once: cos(A_i, B_j) is then a plain dot product of packed unit rows.
    unitRows(metric, b * n * d, srcIdx, d, srcUnit);
    unitRows(metric, b * n * d, dstIdx, d, dstUnit);
    // R_i = max_j cos(A_i, B_j); first index wins ties, like torch.max.
    for (let a = 0; a < ns; a++) {
      const ia = a * d;
      let bestCos = -Infinity;
      let bestJ = 0;
      for (let j = 0; j < nd; j++) {
        const cos = dot(srcUnit, ia, dstUnit, j * d, d);
        if (cos > bestCos) {
          bestCos = cos;
          bestJ = j;
        }
      }
      best[a] = bestJ;
      score[a] = bestCos - c * clsAttn[b * n + srcIdx[a]];
    }
    order.sort((x, y) => ranksBefore(score[x], x, score[y], y));

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
 * PiToMe (the official `pitome_vision` + `pitome`, use_bsm_pitome = False): among the T = n − p
 * unprotected tokens, energy E_i = mean_j ELU(cos(i, j) − m) over all T (itself included); the 2r of
 * highest energy take part, ranked k = 0, 1, ...: even ranks are sources, odd ranks destinations, and
 * every source merges into its most similar destination. The other T − 2r tokens are protected and
 * keep their descending-energy order. Output: the first p tokens, the protected ones, then the
 * destinations in rank order.
 */
function pitomeMatch(metric: ArrayLike<number>, batch: number, n: number, d: number, r: number, p: number, margin: number): Assignment {
  const t = n - p;
  if (2 * r > t) throw new RangeError(`bipartiteMatch: r = ${r} is not clamped for n = ${n}, p = ${p} (see effectiveR)`);
  const m = Math.fround(margin);
  const rows = Array.from({ length: t }, (_, i) => p + i);
  const unit = new Float64Array(t * d);
  const energy = new Float64Array(t);
  const order = Array.from({ length: t }, (_, k) => k);
  const dest = new Int32Array(batch * n);
  const nOut = n - r;
  for (let b = 0; b < batch; b++) {
    unitRows(metric, b * n * d, rows, d, unit);
    for (let i = 0; i < t; i++) {
      let e = 0;
      for (let j = 0; j < t; j++) {
        const v = dot(unit, i * d, unit, j * d, d) - m;
        e += v > 0 ? v : Math.expm1(v);
      }
      energy[i] = e / t;
    }
    for (let k = 0; k < t; k++) order[k] = k;
    order.sort((x, y) => ranksBefore(energy[x], x, energy[y], y));
    const row = b * n;
    for (let i = 0; i < p; i++) dest[row + i] = i;
    for (let k = 2 * r; k < t; k++) dest[row + p + order[k]] = p + k - 2 * r;
    const dstBase = p + t - 2 * r;
    for (let j = 0; j < r; j++) dest[row + p + order[2 * j + 1]] = dstBase + j;
    for (let a = 0; a < r; a++) {
      const ia = order[2 * a] * d;
      let bestCos = -Infinity;
      let bestJ = 0;
      for (let j = 0; j < r; j++) {
        const cos = dot(unit, ia, unit, order[2 * j + 1] * d, d);
        if (cos > bestCos) {
          bestCos = cos;
          bestJ = j;
        }
      }
      dest[row + p + order[2 * a]] = dstBase + bestJ;
    }
  }
  return { batch, n, nOut, dest };
}

/**
 * MCTF (the official bipartite_soft_matching of mlvlab/MCTF utils/mctf.py, bidirection on): the
 * Turbo split; edge weight W(a, b) = ((cos + 1)/2)^(1/τs) · (ι_a ι_b)^(1/τi) · (σ_a σ_b)^(1/τz),
 * ι = (1/attn)/max(1/attn) over all n tokens (attn: the attention each token receives, the
 * clsAttn input), σ = (1/size)/max(1/size); protected tokens' rows are −∞. Step 1: the ⌊r/2⌋
 * sources of largest max_b W merge into their best destination. Step 2: the r − ⌊r/2⌋ destinations
 * of largest max_k W(U_k, b) over the kept list U (protected tokens, then the unmerged sources in
 * token order; in step-1 order when p = 0) merge, with whatever step 1 merged into them, into their
 * best U_k. Output: U, then the other destinations in step-2 order.
 */
function mctfMatch(
  metric: ArrayLike<number>,
  attn: ArrayLike<number>,
  size: ArrayLike<number> | null,
  batch: number,
  n: number,
  d: number,
  r: number,
  p: number,
  tau: { sim: number; info: number; size: number },
): Assignment {
  const { srcIdx, dstIdx } = bipartiteSplit(n, p, r);
  const ns = srcIdx.length;
  const nd = dstIdx.length;
  const r1 = Math.floor(r / 2);
  const r2 = r - r1;
  const [ts, ti, tz] = [Math.fround(tau.sim), Math.fround(tau.info), Math.fround(tau.size)];
  const dest = new Int32Array(batch * n);
  const srcUnit = new Float64Array(ns * d);
  const dstUnit = new Float64Array(nd * d);
  const w = new Float64Array(ns * nd);
  const info = new Float64Array(n);
  const inv = new Float64Array(n);
  const best = new Int32Array(ns);
  const bestW = new Float64Array(ns);
  const order = Array.from({ length: ns }, (_, k) => k);
  const best2 = new Int32Array(nd);
  const bestW2 = new Float64Array(nd);
  const order2 = Array.from({ length: nd }, (_, k) => k);
  // Each token's weight (1/v)/max(1/v) over the n tokens, raised to 1/τ; all 1 when the criterion is off.
  const criterion = (v: ArrayLike<number> | null, off: number, t: number, b: number, out: Float64Array) => {
    if (!v || t === 0) return out.fill(off);
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, (inv[i] = 1 / v[b * n + i]));
    for (let i = 0; i < n; i++) out[i] = inv[i] / max;
    return out;
  };
  const sizeW = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    unitRows(metric, b * n * d, srcIdx, d, srcUnit);
    unitRows(metric, b * n * d, dstIdx, d, dstUnit);
    criterion(attn, 1, ti, b, info);
    criterion(size, 1, tz, b, sizeW);
    for (let a = 0; a < ns; a++) {
      let bw = -Infinity;
      let bj = 0;
      for (let j = 0; j < nd; j++) {
        const sim = ts === 0 ? 1 : ((dot(srcUnit, a * d, dstUnit, j * d, d) + 1) / 2) ** (1 / ts);
        const inf = ti === 0 ? 1 : (info[srcIdx[a]] * info[dstIdx[j]]) ** (1 / ti);
        const sz = tz === 0 || !size ? 1 : (sizeW[srcIdx[a]] * sizeW[dstIdx[j]]) ** (1 / tz);
        const v = (w[a * nd + j] = sim * inf * sz);
        if (v > bw) {
          bw = v;
          bj = j;
        }
      }
      best[a] = bj;
      bestW[a] = bw;
    }
    for (let k = 0; k < ns; k++) order[k] = k;
    order.sort((x, y) => ranksBefore(bestW[x], x, bestW[y], y));
    const kept = order.slice(r1);
    if (p > 0) kept.sort((x, y) => x - y);
    // Step 2 over U = protected tokens (weight −∞) then the kept sources: the first best wins ties.
    const u = p + kept.length;
    for (let j = 0; j < nd; j++) {
      let bw = -Infinity;
      let bk = 0;
      for (let k = 0; k < kept.length; k++) {
        const v = w[kept[k] * nd + j];
        if (v > bw) {
          bw = v;
          bk = p + k;
        }
      }
      best2[j] = bk;
      bestW2[j] = bw;
    }
    for (let k = 0; k < nd; k++) order2[k] = k;
    order2.sort((x, y) => ranksBefore(bestW2[x], x, bestW2[y], y));
    const row = b * n;
    const dstOut = new Int32Array(nd);
    for (let k = 0; k < r2; k++) dstOut[order2[k]] = best2[order2[k]];
    for (let k = r2; k < nd; k++) dstOut[order2[k]] = u + k - r2;
    for (let i = 0; i < p; i++) dest[row + i] = i;
    kept.forEach((a, k) => (dest[row + srcIdx[a]] = p + k));
    for (let j = 0; j < nd; j++) dest[row + dstIdx[j]] = dstOut[j];
    for (let k = 0; k < r1; k++) dest[row + srcIdx[order[k]]] = dstOut[best[order[k]]];
  }
  return { batch, n, nOut: n - r, dest };
}

/**
 * Sort comparator: larger E first, then the lower source index (stable). A NaN E (NaN class-token
 * attention) ranks as -inf, last, as in merge_core.h: `b - a` alone is inconsistent on NaN and
 * leaves the order to the engine's sort.
 */
function ranksBefore(a: number, ia: number, b: number, ib: number): number {
  const ka = Number.isNaN(a) ? -Infinity : a;
  const kb = Number.isNaN(b) ? -Infinity : b;
  return ka > kb ? -1 : ka < kb ? 1 : ia - ib;
}

/** u[iu .. iu+d) · v[iv .. iv+d), in four independent partial sums (shorter add chains: ~20 % faster in V8). */
function dot(u: Float64Array, iu: number, v: Float64Array, iv: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < d; k += 4) {
    s0 += u[iu + k] * v[iv + k];
    s1 += u[iu + k + 1] * v[iv + k + 1];
    s2 += u[iu + k + 2] * v[iv + k + 2];
    s3 += u[iu + k + 3] * v[iv + k + 3];
  }
  for (; k < d; k++) s0 += u[iu + k] * v[iv + k];
  return s0 + s1 + (s2 + s3);
}

/** Rows `rows` of one batch element of metric (starting at offset m), scaled to unit L2 length, packed into out. */
function unitRows(metric: ArrayLike<number>, m: number, rows: number[], d: number, out: Float64Array): void {
  for (let r = 0; r < rows.length; r++) {
    const from = m + rows[r] * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += metric[from + k] * metric[from + k];
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < d; k++) out[r * d + k] = metric[from + k] * inv;
  }
}

/**
 * Size-weighted merge: x [B, N, C], size [B, N] or null (all 1) → x' [B, N', C], size' [B, N'].
 * Like the official merge_wavg (sum x·size and size per output token, then divide), computed only
 * where tokens were merged (in float64); a token nothing merged into is copied, bit-exact.
 * mode 'mlerp' (ToFu): the weighted mean is rescaled to the largest norm among the tokens merged,
 * `x' = mean · max_i ‖x_i‖ / max(‖mean‖, 1e−12)`, because averaging shrinks the norm that later
 * layers expect; sizes add up as for the mean.
 */
export function mergeWeighted(
  x: ArrayLike<number>,
  size: ArrayLike<number> | null,
  a: Assignment,
  channels: number,
  out?: { x: Float32Array; size: Float32Array },
  mode: MergeMode = 'mean',
): { x: Float32Array; size: Float32Array } {
  const mlerp = mode === 'mlerp';
  const { batch, n, nOut, dest } = a;
  const C = channels;
  const xo = out?.x ?? new Float32Array(batch * nOut * C);
  const so = out?.size ?? new Float32Array(batch * nOut);
  const members = new Int32Array(nOut);
  const sizeSum = new Float64Array(nOut);
  // Accumulator row of each output that several tokens went to (there are at most n − nOut), else -1.
  const slot = new Int32Array(nOut);
  const acc = new Float64Array(Math.min(nOut, n - nOut) * C);
  const maxNorm = new Float64Array(mlerp ? Math.min(nOut, n - nOut) : 0);
  for (let b = 0; b < batch; b++) {
    members.fill(0);
    sizeSum.fill(0);
    for (let i = 0; i < n; i++) {
      const o = dest[b * n + i];
      members[o]++;
      sizeSum[o] += size ? size[b * n + i] : 1;
    }
    let merged = 0;
    for (let o = 0; o < nOut; o++) slot[o] = members[o] > 1 ? merged++ : -1;
    acc.fill(0, 0, merged * C);
    maxNorm.fill(0);

    for (let i = 0; i < n; i++) {
      const o = dest[b * n + i];
      const xi = (b * n + i) * C;
      if (slot[o] < 0) {
        const xo0 = (b * nOut + o) * C;
        for (let k = 0; k < C; k++) xo[xo0 + k] = x[xi + k];
      } else {
        const s = size ? size[b * n + i] : 1;
        const row = slot[o] * C;
        for (let k = 0; k < C; k++) acc[row + k] += x[xi + k] * s;
        if (mlerp) {
          let q = 0;
          for (let k = 0; k < C; k++) q += x[xi + k] * x[xi + k];
          maxNorm[slot[o]] = Math.max(maxNorm[slot[o]], Math.sqrt(q));
        }
      }
    }
    for (let o = 0; o < nOut; o++) {
      so[b * nOut + o] = sizeSum[o];
      if (slot[o] < 0) continue;
      const inv = 1 / sizeSum[o];
      const row = slot[o] * C;
      const xo0 = (b * nOut + o) * C;
      if (!mlerp) {
        for (let k = 0; k < C; k++) xo[xo0 + k] = acc[row + k] * inv;
        continue;
      }
      let q = 0;
      for (let k = 0; k < C; k++) {
        acc[row + k] *= inv;
        q += acc[row + k] * acc[row + k];
      }
      const scale = maxNorm[slot[o]] / Math.max(Math.sqrt(q), 1e-12);
      for (let k = 0; k < C; k++) xo[xo0 + k] = acc[row + k] * scale;
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
