// tfjs-turbo public API. Importing the package registers the Turbo ops, so a converted model
// loads with plain tf.loadGraphModel.
import { registerTurboOps } from './ops/register';

registerTurboOps();

export { registerTurboOps, registerFusedKernels, unregisterFusedKernels } from './ops/register';
export { turboMerge } from './ops/turbo_merge';
export type { TurboMergeOptions, MergeResult } from './ops/turbo_merge';
export { turboUnmerge } from './ops/turbo_unmerge';
export { proportionalAttentionBias } from './ops/prop_attn_bias';
export { loadTurboModel } from './runtime/load';
export { useBackend, tryLoadNativeBackend } from './runtime/backend';
export type { BackendName } from './runtime/backend';
export { convertWithTurbo, rewriteGraph, EMBEDDED_MODEL_DIR } from './convert';
export type { ConvertOptions, ConvertResult } from './convert';
export { DEFAULT_TURBO_OPTIONS, resolveTurboOptions } from './turbo/options';
export type { TurboOptions, RSchedule } from './turbo/options';
export { parseRSchedule, tokenCounts, estimateFlopRatio } from './turbo/schedule';
export { bipartiteMatch, mergeWeighted, unmerge } from './turbo/merge';
export type { Assignment } from './turbo/merge';
export { readGraphModel, writeGraphModel } from './graph/model_io';
export { TurboInputError } from './errors';
export { loadTurboSavedModel } from './savedmodel/load';
export type { TurboSavedModel } from './savedmodel/load';
export { writeSavedModel } from './savedmodel/write';
export type { SavedModelInfo, SavedModelWriteOptions } from './savedmodel/write';
