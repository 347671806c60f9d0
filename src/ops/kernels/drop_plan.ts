// The host-side half of TurboDropTokens on every backend: how many tokens a layer keeps and the
// outputs' shapes follow from the input shapes, N0 and the attributes alone, so a GPU kernel sizes
// its outputs without reading anything back (docs/ALGORITHM.md, "BLIP's text side").
import type { TurboDropTokensAttrs } from '../kernel_names';

/** TurboDropTokens' kernel attributes: the graph attributes and N0, the token count the text side received. */
export interface TurboDropTokensKernelAttrs extends TurboDropTokensAttrs {
  startCount: number;
}

/** How many of the n0 starting image tokens layer i keeps: max(⌊n0(1 − dropMax)⌋, ⌊(1 − dropRate(i + 1))·n0⌋). */
export function keptTokenCount(n0: number, layer: number, dropRate: number, dropMax: number): number {
  return Math.max(Math.floor(n0 * (1 - dropMax)), Math.floor((1 - dropRate * (layer + 1)) * n0));
}

export interface DropPlan {
  batch: number;
  heads: number;
  /** Text positions in probs (the stride between them). */
  textLen: number;
  /** Text positions summed into a token's score: all, or 1 with firstTokenOnly. */
  rows: number;
  /** Image tokens present. */
  n: number;
  channels: number;
  /** Tokens kept: the docs' count, clamped to [1, n]. */
  keep: number;
  /** The mask's batch axis: `batch`, or 1 when one mask is broadcast over the batch. */
  maskBatch: number;
  tokensShape: number[];
  maskShape: number[];
  keptShape: number[];
}

/**
 * probs [B, H, T, N], tokens [B, N, D], mask [B or 1, 1, ..., 1, N]. Throws on shapes the op does
 * not take, with the reason, so every kernel can rely on them.
 */
export function dropPlan(probsShape: number[], tokensShape: number[], maskShape: number[], attrs: TurboDropTokensKernelAttrs): DropPlan {
  if (probsShape.length !== 4) throw new Error(`TurboDropTokens: probs must be [B, H, T, N], got [${probsShape}]`);
  const [batch, heads, textLen, n] = probsShape;
  if (tokensShape.length !== 3 || tokensShape[1] !== n || tokensShape[0] !== batch) {
    throw new Error(`TurboDropTokens: tokens must be [${batch}, ${n}, D] to match the attention's ${n} keys, got [${tokensShape}]`);
  }
  if (maskShape.length < 2 || maskShape[maskShape.length - 1] !== n) throw new Error(`TurboDropTokens: mask's last axis must be ${n}, got [${maskShape}]`);
  const inner = maskShape.slice(1, -1);
  if (inner.some((d) => d !== 1) || (maskShape[0] !== batch && maskShape[0] !== 1)) {
    throw new Error(`TurboDropTokens: mask must be [${batch} or 1, 1, ..., 1, ${n}], got [${maskShape}]`);
  }
  const keep = Math.min(n, Math.max(1, keptTokenCount(attrs.startCount, attrs.layer, attrs.dropRate, attrs.dropMax)));
  return {
    batch,
    heads,
    textLen,
    rows: attrs.firstTokenOnly ? 1 : textLen,
    n,
    channels: tokensShape[2],
    keep,
    maskBatch: maskShape[0],
    tokensShape: [batch, keep, tokensShape[2]],
    maskShape: [batch, ...inner, keep],
    keptShape: [batch, keep],
  };
}
