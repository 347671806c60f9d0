// tfjs-turbo for the browser (and any bundler): the ops, their registration, loading a Turbo model
// from a URL or tf.io handler, warm-up, and preprocessing from pixels. Nothing here imports Node;
// conversion, file IO, sharp and the embedded model are in the Node entry (src/index.ts), which
// re-exports all of this. Importing the package registers the Turbo ops, so a converted model
// also loads with plain tf.loadGraphModel.
import { registerTurboOps } from './ops/register_core';

registerTurboOps();

export { registerTurboOps, registerFusedKernels, unregisterFusedKernels } from './ops/register_core';
export type { RegisterOptions } from './ops/register_core';
export { turboMerge, setCompositeMatching } from './ops/turbo_merge';
export type { TurboMergeOptions, MergeResult, CompositeMatching } from './ops/turbo_merge';
export { turboUnmerge } from './ops/turbo_unmerge';
export { proportionalAttentionBias } from './ops/prop_attn_bias';
export { loadTurboModel, warmup } from './runtime/load_web';
export type { WarmupOptions } from './runtime/load_web';
export { loadPreprocessing, preprocess, preprocessPixels } from './image/preprocess_web';
export type { Preprocessing, Pixels } from './image/preprocessing';
export { DEFAULT_TURBO_OPTIONS, resolveTurboOptions } from './turbo/options';
export type { TurboOptions, RSchedule } from './turbo/options';
export { parseRSchedule, tokenCounts, estimateFlopRatio } from './turbo/schedule';
export { bipartiteMatch, mergeWeighted, unmerge } from './turbo/merge';
export type { Assignment } from './turbo/merge';
