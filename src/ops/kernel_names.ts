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

export interface TurboUnmergeInputs extends NamedTensorInfoMap {
  y: TensorInfo;
  assignment: TensorInfo;
}

export interface TurboPropAttnBiasInputs extends NamedTensorInfoMap {
  size: TensorInfo;
}
