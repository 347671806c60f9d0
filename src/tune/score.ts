// How close a merged model stays to the unmerged one, from logits alone (no labels needed):
// top-1 agreement, and the mean KL divergence KL(p_unmerged ‖ p_merged) of the softmaxes.

export interface Agreement {
  /** Share of images whose top-1 class is the unmerged model's. */
  top1: number;
  /** Mean KL(p ‖ q) in nats. */
  kl: number;
  /** Top-1 accuracy against labels, when every image has one. */
  accuracy?: number;
  images: number;
}

function argmax(v: Float32Array, from: number, n: number): number {
  let best = from;
  for (let i = from + 1; i < from + n; i++) if (v[i] > v[best]) best = i;
  return best - from;
}

function logSoftmax(v: Float32Array, from: number, n: number): Float64Array {
  let max = -Infinity;
  for (let i = from; i < from + n; i++) max = Math.max(max, v[i]);
  let sum = 0;
  for (let i = from; i < from + n; i++) sum += Math.exp(v[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = v[from + i] - lse;
  return out;
}

/** Rows of `classes` logits; `rows` restricts to those images (default all). */
export function agreement(reference: Float32Array, merged: Float32Array, classes: number, rows?: number[], labels?: (number | undefined)[]): Agreement {
  const idx = rows ?? Array.from({ length: reference.length / classes }, (_, i) => i);
  let same = 0;
  let kl = 0;
  let correct = 0;
  let labelled = 0;
  for (const r of idx) {
    const at = r * classes;
    const top = argmax(merged, at, classes);
    if (argmax(reference, at, classes) === top) same++;
    const p = logSoftmax(reference, at, classes);
    const q = logSoftmax(merged, at, classes);
    for (let i = 0; i < classes; i++) kl += Math.exp(p[i]) * (p[i] - q[i]);
    const label = labels?.[r];
    if (label !== undefined) {
      labelled++;
      if (label === top) correct++;
    }
  }
  const n = idx.length;
  const result: Agreement = { top1: same / n, kl: kl / n, images: n };
  if (labels && labelled === n) result.accuracy = correct / n;
  return result;
}

/** Better first: higher agreement, then lower KL. */
export function compareAgreement(a: Agreement, b: Agreement): number {
  return b.top1 - a.top1 || a.kl - b.kl;
}
