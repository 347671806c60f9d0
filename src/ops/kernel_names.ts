// Kernel names and their inputs/attrs, declared once (tfjs-core's kernel_names.ts convention).
import { NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';

export const TurboMerge = 'TurboMerge';
export const TurboUnmerge = 'TurboUnmerge';
export const TurboPropAttnBias = 'TurboPropAttnBias';

/** x [B,N,C], metric [B,N,d], clsAttn [B,N], size [B,N] (optional: all ones). */
export interface TurboMergeInputs extends NamedTensorInfoMap {
  x: TensorInfo;
  metric: TensorInfo;
  clsAttn: TensorInfo;
}

export interface TurboMergeAttrs {
  /** Requested r; clamped at run time to floor((N - protectedTokens) / 2). */
  r: number;
  alpha: number;
  beta: number;
  gamma: number;
  /** l: earlier blocks with r > 0. */
  layer: number;
  protectedTokens: number;
  rThreshold: number;
}

/**
 * TurboMerge's attributes in graphs, under the TensorFlow snake_case names the rewriter writes and
 * the native op registers (native/ops/turbo_ops.cc), with their TF attr kind. Every encoder and
 * decoder (rewrite pass, tfjs graph op, tensorflow kernel, --portable lowering) goes through this.
 */
export const MERGE_GRAPH_ATTRS: readonly { key: keyof TurboMergeAttrs; name: string; kind: 'int' | 'float' }[] = [
  { key: 'r', name: 'r', kind: 'int' },
  { key: 'alpha', name: 'alpha', kind: 'float' },
  { key: 'beta', name: 'beta', kind: 'float' },
  { key: 'gamma', name: 'gamma', kind: 'float' },
  { key: 'layer', name: 'layer', kind: 'int' },
  { key: 'protectedTokens', name: 'protected_tokens', kind: 'int' },
  { key: 'rThreshold', name: 'r_threshold', kind: 'int' },
];

/** Reads TurboMergeAttrs from a graph node's attributes by their graph names (undefined where absent). */
export function decodeMergeAttrs(get: (graphName: string) => number | undefined): Partial<TurboMergeAttrs> {
  const out: Partial<TurboMergeAttrs> = {};
  for (const { key, name } of MERGE_GRAPH_ATTRS) {
    const v = get(name);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export interface TurboUnmergeInputs extends NamedTensorInfoMap {
  y: TensorInfo;
  assignment: TensorInfo;
}

export interface TurboPropAttnBiasInputs extends NamedTensorInfoMap {
  size: TensorInfo;
}
