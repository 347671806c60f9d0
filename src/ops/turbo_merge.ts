// turboMerge: the public op. Validates its arguments (messages name the argument), then runs the
// TurboMerge kernel registered for the active backend (src/ops/kernel_registry.ts).
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_TURBO_OPTIONS, count, finite } from '../turbo/options';
import { DEFAULT_MARGIN, DEFAULT_TAU, MERGE_MODES, MERGE_SCORES, TurboMerge, TurboMergeAttrs } from './kernel_names';
import type { MergeMode, MergeScore } from '../turbo/merge';
import type { MergeResult } from './kernels/composite/merge_readback';
import { runTurboKernel } from './run_kernel';

export type { MergeResult };

export interface TurboMergeOptions {
  /** Tokens to merge (clamped at run time to floor((N − protectedTokens) / 2)). */
  r: number;
  /** Class-token attention weight; 0 = ToMe (default 5). */
  alpha?: number;
  /** Per-layer decay of the attention weight (default 1). */
  beta?: number;
  /** Layer at which the attention weight peaks (default 0). */
  gamma?: number;
  /** Earlier blocks with r > 0, for beta/gamma weighting (default 0). */
  layer?: number;
  /** Leading tokens never merged (default 1: the class token; DeiT: 2). */
  protectedTokens?: number;
  /** No merging when N < rThreshold (default 0). */
  rThreshold?: number;
  /** Token selection: 'turbo' (default; alpha 0 is ToMe), 'pitome' or 'mctf'; or its graph code (MERGE_SCORES). */
  score?: MergeScore | number;
  /** Merge arithmetic: 'mean' (default, size-weighted) or 'mlerp'; or its graph code (MERGE_MODES). */
  merge?: MergeMode | number;
  /** PiToMe's energy margin (default 0.5; convert-with-turbo writes 0.9 − 0.8·block/blocks). */
  margin?: number;
  /**
   * MCTF's temperatures (default 1, 20, 40, the official evaluation's; 0 turns a criterion off).
   * With score 'mctf', clsAttn carries the attention each token receives (mean over heads and queries).
   */
  tauSim?: number;
  tauInfo?: number;
  tauSize?: number;
}

/** Largest r, protected-token count or threshold accepted: far above any ViT's token count. */
export const MAX_TOKENS = 65536;

export function mergeAttrs(o: TurboMergeOptions): TurboMergeAttrs {
  if (!o || typeof o !== 'object') throw new Error('turboMerge: options must be an object with at least { r }');
  const attrs: TurboMergeAttrs = {
    r: o.r,
    alpha: o.alpha ?? DEFAULT_TURBO_OPTIONS.alpha,
    beta: o.beta ?? DEFAULT_TURBO_OPTIONS.beta,
    gamma: o.gamma ?? DEFAULT_TURBO_OPTIONS.gamma,
    layer: o.layer ?? 0,
    protectedTokens: o.protectedTokens ?? 1,
    rThreshold: o.rThreshold ?? DEFAULT_TURBO_OPTIONS.rThreshold,
    score: choiceCode('score', o.score, MERGE_SCORES),
    mergeMode: choiceCode('merge', o.merge, MERGE_MODES),
    margin: o.margin ?? DEFAULT_MARGIN,
    tauSim: o.tauSim ?? DEFAULT_TAU.sim,
    tauInfo: o.tauInfo ?? DEFAULT_TAU.info,
    tauSize: o.tauSize ?? DEFAULT_TAU.size,
  };
  const named = (f: () => void) => {
    try {
      f();
    } catch (e) {
      throw new Error(`turboMerge: ${(e as Error).message}`);
    }
  };
  named(() => count('r', attrs.r));
  // No model has this many tokens; an edited model.json asking for more is refused, not clamped.
  for (const [k, v] of [['r', attrs.r], ['protectedTokens', attrs.protectedTokens], ['rThreshold', attrs.rThreshold]] as const) {
    if (v > MAX_TOKENS) throw new Error(`turboMerge: ${k} = ${v} is out of range (at most ${MAX_TOKENS})`);
  }
  named(() => finite('alpha', attrs.alpha));
  named(() => finite('beta', attrs.beta));
  named(() => finite('gamma', attrs.gamma));
  named(() => count('layer', attrs.layer));
  named(() => count('protectedTokens', attrs.protectedTokens));
  named(() => count('rThreshold', attrs.rThreshold));
  named(() => finite('margin', attrs.margin as number));
  for (const k of ['tauSim', 'tauInfo', 'tauSize'] as const) {
    named(() => finite(k, attrs[k] as number));
    if ((attrs[k] as number) < 0) throw new Error(`turboMerge: ${k} = ${attrs[k]} is negative (0 turns the criterion off)`);
  }
  return attrs;
}

/** A choice given by name or by its graph code (index in `names`; undefined is the first). */
function choiceCode(what: string, v: string | number | undefined, names: readonly string[]): number {
  if (v === undefined) return 0;
  const code = typeof v === 'number' ? v : names.indexOf(v);
  if (!Number.isInteger(code) || code < 0 || code >= names.length) {
    throw new Error(`turboMerge: ${what} = ${JSON.stringify(v)} is not one of ${names.map((n, i) => `'${n}' (${i})`).join(', ')}`);
  }
  return code;
}

/** Rank and shape checks shared by the op and the graph executor; `protectedTokens` is checked against x's token count. */
export function checkMergeInputs(x: tf.Tensor, metric: tf.Tensor, clsAttn: tf.Tensor, size: tf.Tensor | null, protectedTokens = 0): void {
  const fail = (arg: string, why: string) => {
    throw new Error(`turboMerge: ${arg} ${why}`);
  };
  if (x.rank !== 3) fail('x', `must be rank 3 [B, N, C], got shape [${x.shape}]`);
  if (metric.rank !== 3) fail('metric', `must be rank 3 [B, N, d], got shape [${metric.shape}]`);
  if (clsAttn.rank !== 2) fail('clsAttn', `must be rank 2 [B, N], got shape [${clsAttn.shape}]`);
  const [b, n] = x.shape;
  if (b === 0) fail('x', `has batch size 0 (shape [${x.shape}]); run the model on at least one image`);
  if (n === 0) fail('x', `has no tokens (shape [${x.shape}])`);
  // Every r would clamp to 0: the op would run and merge nothing, hiding the misconfiguration.
  if (protectedTokens > n) fail('protectedTokens', `= ${protectedTokens} is more than the ${n} tokens of x`);
  if (metric.shape[0] !== b || metric.shape[1] !== n) fail('metric', `shape [${metric.shape}] does not match x [${x.shape}] in B, N`);
  if (clsAttn.shape[0] !== b || clsAttn.shape[1] !== n) fail('clsAttn', `shape [${clsAttn.shape}] does not match x [${x.shape}] in B, N`);
  if (size) {
    if (size.rank !== 2) fail('size', `must be rank 2 [B, N], got shape [${size.shape}]`);
    if (size.shape[0] !== b || size.shape[1] !== n) fail('size', `shape [${size.shape}] does not match x [${x.shape}] in B, N`);
  }
  for (const [name, t] of [['x', x], ['metric', metric], ['clsAttn', clsAttn], ['size', size]] as const) {
    if (t && t.dtype !== 'float32') fail(name, `must be float32, got ${t.dtype}`);
  }
}

/**
 * Merges the r least informative redundant tokens of x.
 * x [B, N, C], metric [B, N, d] (head-averaged keys), clsAttn [B, N] (head-averaged class-token
 * attention), size [B, N] or null (all 1) → x [B, N', C], size [B, N'], assignment [B, N] int32
 * (the output index every input token went to, for turboUnmerge and visualisation).
 */
export function turboMerge(
  x: tf.Tensor | tf.TensorLike,
  metric: tf.Tensor | tf.TensorLike,
  clsAttn: tf.Tensor | tf.TensorLike,
  size: tf.Tensor | tf.TensorLike | null,
  options: TurboMergeOptions,
): MergeResult {
  const attrs = mergeAttrs(options);
  const $x = asTensor(x, 'x');
  const $metric = asTensor(metric, 'metric');
  const $clsAttn = asTensor(clsAttn, 'clsAttn');
  const $size = size === null || size === undefined ? null : asTensor(size, 'size');
  try {
    checkMergeInputs($x, $metric, $clsAttn, $size, attrs.protectedTokens);
    return runMerge($x as tf.Tensor3D, $metric as tf.Tensor3D, $clsAttn as tf.Tensor2D, $size as tf.Tensor2D | null, attrs);
  } finally {
    // Tensors we created from plain arrays are ours to free.
    for (const [given, t] of [[x, $x], [metric, $metric], [clsAttn, $clsAttn], [size, $size]] as const) {
      if (t && !(given instanceof tf.Tensor)) t.dispose();
    }
  }
}

/** The kernel call without validation; the graph executor calls this after checkMergeInputs. */
export function runMerge(x: tf.Tensor3D, metric: tf.Tensor3D, clsAttn: tf.Tensor2D, size: tf.Tensor2D | null, attrs: TurboMergeAttrs): MergeResult {
  const inputs: tf.NamedTensorMap = size ? { x, metric, clsAttn, size } : { x, metric, clsAttn };
  const [xOut, sizeOut, assignment] = runTurboKernel(TurboMerge, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { x: xOut as tf.Tensor3D, size: sizeOut as tf.Tensor2D, assignment: assignment as tf.Tensor2D };
}

function asTensor(v: tf.Tensor | tf.TensorLike, name: string): tf.Tensor {
  if (v instanceof tf.Tensor) return v;
  try {
    return tf.tensor(v as tf.TensorLike, undefined, 'float32');
  } catch (e) {
    throw new Error(`turboMerge: ${name} is not a tensor or nested array (${(e as Error).message})`);
  }
}
