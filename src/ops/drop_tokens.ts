// TurboDropTokens: BLIP's text-side reduction of the image tokens (docs/ALGORITHM.md, "BLIP's text side").
// Standard tfjs ops only (sum, topk, gather), so it runs on every backend as it is; the cost is a
// [B, N] reduction and two gathers, small next to the cross-attention that produced the scores.
import * as tf from '@tensorflow/tfjs-core';
import { DROP_GRAPH_ATTRS, TurboDropTokensAttrs } from './kernel_names';

export const DEFAULT_DROP_ATTRS: Omit<TurboDropTokensAttrs, 'layer'> = { dropRate: 0.07, dropMax: 0.8, firstTokenOnly: false };

/** How many of the n0 starting image tokens layer i keeps: max(⌊n0(1 − dropMax)⌋, ⌊(1 − dropRate(i + 1))·n0⌋). */
export function keptTokenCount(n0: number, layer: number, dropRate: number, dropMax: number): number {
  return Math.max(Math.floor(n0 * (1 - dropMax)), Math.floor((1 - dropRate * (layer + 1)) * n0));
}

export interface DropResult {
  tokens: tf.Tensor3D;
  mask: tf.Tensor;
  kept: tf.Tensor2D;
}

/** See TurboDropTokens in kernel_names.ts for the inputs. Never keeps more tokens than there are, nor fewer than 1. */
export function dropTokens(
  probs: tf.Tensor4D,
  tokens: tf.Tensor3D,
  mask: tf.Tensor,
  startCount: number,
  attrs: TurboDropTokensAttrs,
): DropResult {
  const [, , , n] = probs.shape;
  if (tokens.rank !== 3 || tokens.shape[1] !== n) {
    throw new Error(`TurboDropTokens: tokens must be [B, ${n}, D] to match the attention's ${n} keys, got [${tokens.shape}]`);
  }
  if (mask.shape[mask.rank - 1] !== n) throw new Error(`TurboDropTokens: mask's last axis must be ${n}, got [${mask.shape}]`);
  const keep = Math.min(n, Math.max(1, keptTokenCount(startCount, attrs.layer, attrs.dropRate, attrs.dropMax)));
  return tf.tidy(() => {
    const score = attrs.firstTokenOnly
      ? tf.sum(tf.slice(probs, [0, 0, 0, 0], [-1, -1, 1, -1]), [1, 2])
      : tf.sum(probs, [1, 2]);
    const kept = tf.topk(score, keep, true).indices as tf.Tensor2D;
    const keptTokens = gatherRows(tokens, kept) as tf.Tensor3D;
    const keptMask = gatherMask(mask, kept, tokens.shape[0]);
    return { tokens: keptTokens, mask: keptMask, kept };
  });
}

/**
 * x [B, N, ...] → x[b, kept[b, j], ...] as [B, k, ...]. Through one flat gather: tf.gather with
 * batchDims = 1 returns wrong rows for b > 0 on the wasm backend (tfjs 4.22).
 */
function gatherRows(x: tf.Tensor, kept: tf.Tensor2D): tf.Tensor {
  const [b, n, ...rest] = x.shape;
  const offsets = tf.reshape(tf.mul(tf.range(0, b, 1, 'int32'), tf.scalar(n, 'int32')), [b, 1]);
  const flatIndex = tf.reshape(tf.add(kept, offsets), [-1]);
  return tf.reshape(tf.gather(tf.reshape(x, [b * n, ...rest]), flatIndex), [b, kept.shape[1], ...rest]);
}

/** mask [..., N] with a batch axis of B or 1 (broadcast) → the same layout over the kept tokens. */
function gatherMask(mask: tf.Tensor, kept: tf.Tensor2D, batch: number): tf.Tensor {
  const n = mask.shape[mask.rank - 1];
  const inner = mask.shape.slice(1, -1);
  if (inner.some((d) => d !== 1)) throw new Error(`TurboDropTokens: mask must be [B, 1, ..., 1, N], got [${mask.shape}]`);
  const flat = tf.broadcastTo(tf.reshape(mask, [mask.shape[0], n]), [batch, n]);
  const picked = gatherRows(flat, kept);
  return tf.reshape(picked, [batch, ...inner, kept.shape[1]]);
}

/** Reads TurboDropTokensAttrs from a graph node's attributes by their graph names. */
export function decodeDropAttrs(get: (graphName: string) => unknown): TurboDropTokensAttrs {
  const out: Record<string, unknown> = { ...DEFAULT_DROP_ATTRS, layer: 0 };
  for (const { key, name, kind } of DROP_GRAPH_ATTRS) {
    const v = get(name);
    if (v === undefined) continue;
    out[key] = kind === 'bool' ? Boolean(v) : Number(v);
  }
  return out as unknown as TurboDropTokensAttrs;
}
