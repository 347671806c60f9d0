// Schedules: r per block, the layer index used by beta/gamma weighting, token counts, FLOPs.

import { RSchedule } from './options';

/** r requested for each of `numLayers` blocks. */
export function parseRSchedule(r: RSchedule, numLayers: number): number[] {
  if (typeof r === 'number') return new Array(numLayers).fill(r);
  if (Array.isArray(r)) return Array.from({ length: numLayers }, (_, i) => r[i] ?? 0);
  const lo = Math.trunc(r.r * (1 - r.inflect));
  const hi = 2 * r.r - lo;
  if (numLayers === 1) return [Math.trunc(lo)];
  return Array.from({ length: numLayers }, (_, l) => Math.trunc(lo + ((hi - lo) * l) / (numLayers - 1)));
}

/** l for each block: how many earlier blocks had a scheduled r > 0 (whether or not they merged). */
export function layerIndices(schedule: number[]): number[] {
  let l = 0;
  return schedule.map((r) => {
    const here = l;
    if (r > 0) l++;
    return here;
  });
}

/** r actually merged in a block of n tokens: clamped to floor((n - p) / 2), 0 below the threshold. */
export function effectiveR(r: number, n: number, protectedTokens: number, rThreshold: number): number {
  const clamped = Math.min(r, Math.floor((n - protectedTokens) / 2));
  return clamped <= 0 || n < rThreshold ? 0 : clamped;
}

/** Tokens after each block. */
export function tokenCounts(n0: number, schedule: number[], protectedTokens: number, rThreshold: number): number[] {
  let n = n0;
  return schedule.map((r) => (n -= effectiveR(r, n, protectedTokens, rThreshold)));
}

export function mergeWeight(alpha: number, beta: number, gamma: number, layer: number): number {
  return 30 * alpha * beta ** Math.abs(gamma - layer);
}

/**
 * FLOPs of the unmerged network ÷ FLOPs with the schedule (≥ 1: the speed-up merging allows).
 * Per block, multiply-adds of a pre-norm ViT block with N tokens, width C and MLP width M:
 * attention 4·N·C² (q, k, v, proj) + 2·N²·C (Q·Kᵀ and P·V) on the tokens entering the block,
 * MLP 2·N'·C·M on the tokens left after the merge (Turbo merges between attention and MLP).
 * With `blockEnd` (score 'mctf', merged after the MLP) the MLP runs on the tokens entering the block.
 * Embedding and head are left out (they do not change).
 */
export function estimateFlopRatio(n0: number, tokensAfterBlock: number[], dims = { hidden: 768, mlp: 3072 }, blockEnd = false): number {
  const { hidden: c, mlp: m } = dims;
  const attn = (n: number) => 4 * n * c * c + 2 * n * n * c;
  const mlp = (n: number) => 2 * n * c * m;
  let before = 0;
  let after = 0;
  let entering = n0;
  for (const left of tokensAfterBlock) {
    before += attn(n0) + mlp(n0);
    after += attn(entering) + mlp(blockEnd ? entering : left);
    entering = left;
  }
  return after === 0 ? 1 : before / after;
}
