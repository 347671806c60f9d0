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
  /** Token selection, as its code in MERGE_SCORES (0 or absent: Turbo's informativity, 1 PiToMe's energy, 2 MCTF). */
  score?: number;
  /** Merge arithmetic, as its code in MERGE_MODES (0 or absent: size-weighted mean, 1 MLERP). */
  mergeMode?: number;
  /** PiToMe's energy margin (read only when score is PiToMe; absent: DEFAULT_MARGIN). */
  margin?: number;
  /** MCTF's temperatures of similarity, informativeness and size (read only when score is MCTF; absent: DEFAULT_TAU). */
  tauSim?: number;
  tauInfo?: number;
  tauSize?: number;
}

/** The scores and merge arithmetic by graph code: the list index is the int attr written in graphs. */
export const MERGE_SCORES = ['turbo', 'pitome', 'mctf'] as const;
export const MERGE_MODES = ['mean', 'mlerp'] as const;

/**
 * TurboMerge's attributes in graphs, under the TensorFlow snake_case names the rewriter writes and
 * the native op registers (native/ops/turbo_ops.cc), with their TF attr kind. Every encoder and
 * decoder (rewrite pass, tfjs graph op, tensorflow kernel, --portable lowering) goes through this.
 */
// `omitAt`: the attr is left out of a node when it has this value (the op's default), so graphs
// converted with the default score and merge stay byte-identical to those written before them.
export const MERGE_GRAPH_ATTRS: readonly { key: keyof TurboMergeAttrs; name: string; kind: 'int' | 'float'; omitAt?: number }[] = [
  { key: 'r', name: 'r', kind: 'int' },
  { key: 'alpha', name: 'alpha', kind: 'float' },
  { key: 'beta', name: 'beta', kind: 'float' },
  { key: 'gamma', name: 'gamma', kind: 'float' },
  { key: 'layer', name: 'layer', kind: 'int' },
  { key: 'protectedTokens', name: 'protected_tokens', kind: 'int' },
  { key: 'rThreshold', name: 'r_threshold', kind: 'int' },
  { key: 'score', name: 'score', kind: 'int', omitAt: 0 },
  { key: 'mergeMode', name: 'merge_mode', kind: 'int', omitAt: 0 },
  { key: 'margin', name: 'margin', kind: 'float', omitAt: 0.5 },
  { key: 'tauSim', name: 'tau_sim', kind: 'float', omitAt: 1 },
  { key: 'tauInfo', name: 'tau_info', kind: 'float', omitAt: 20 },
  { key: 'tauSize', name: 'tau_size', kind: 'float', omitAt: 40 },
];

/** MCTF's temperatures in the official DeiT evaluation (run/eval_deit_t_mctf.sh: tau_sim 1, tau_info 20, tau_size 40). */
export { DEFAULT_MCTF_TAU as DEFAULT_TAU } from '../turbo/options';

/** Default of the PiToMe margin attr (the official pitome_vision's default). */
export const DEFAULT_MARGIN = 0.5;

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

/**
 * BLIP's text-side image-token dropping (docs/ALGORITHM.md, "BLIP's text side"): after cross-attention
 * layer `layer`, keep the image tokens with the most cross-attention. Graph inputs, in order:
 * probs [B, H, T, N] (the layer's cross-attention probabilities), tokens [B, N, D], mask [..., N]
 * (the additive attention mask over the image tokens), reference [B, N0, ...] (the image tokens the
 * text side started with; only its token count is read). Outputs: tokens [B, k, D], mask [..., k],
 * kept [B, k] int32 (indices into this layer's token order, descending attention).
 */
export const TurboDropTokens = 'TurboDropTokens';

export interface TurboDropTokensAttrs {
  /** Cross-attention layer index i, counted from 0. */
  layer: number;
  dropRate: number;
  dropMax: number;
  /** Rank by the first text token's attention only (the official variant), not the sum over text positions. */
  firstTokenOnly: boolean;
}

export const DROP_GRAPH_ATTRS: readonly { key: keyof TurboDropTokensAttrs; name: string; kind: 'int' | 'float' | 'bool' }[] = [
  { key: 'layer', name: 'layer', kind: 'int' },
  { key: 'dropRate', name: 'drop_rate', kind: 'float' },
  { key: 'dropMax', name: 'drop_max', kind: 'float' },
  { key: 'firstTokenOnly', name: 'first_token_only', kind: 'bool' },
];
