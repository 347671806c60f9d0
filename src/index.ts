// tfjs-turbo public API for Node (the `node` condition of the exports map): everything the browser
// entry (src/browser.ts) has, plus conversion, file IO, sharp preprocessing, backend selection and
// loading from local directories. Importing the package registers the Turbo ops, so a converted
// model loads with plain tf.loadGraphModel.
import { registerTurboOps } from './ops/register';

registerTurboOps();

export { registerTurboOps, registerFusedKernels, unregisterFusedKernels } from './ops/register';
export { turboMerge, setCompositeMatching } from './ops/turbo_merge';
export type { TurboMergeOptions, MergeResult, CompositeMatching } from './ops/turbo_merge';
export { turboUnmerge } from './ops/turbo_unmerge';
export { proportionalAttentionBias } from './ops/prop_attn_bias';
export { loadTurboModel } from './runtime/load';
export { warmup } from './runtime/load_web';
export type { WarmupOptions } from './runtime/load_web';
export { preprocessPixels } from './image/preprocessing';
export type { Preprocessing, Pixels } from './image/preprocessing';
export { preprocessImage, readPreprocessing } from './image/preprocess';
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
