// tfjs-turbo for the browser (and any bundler): the ops, their registration, loading a Turbo model
// from a URL or tf.io handler, warm-up, and preprocessing from pixels. Nothing here imports Node;
// conversion, file IO, sharp and the embedded model are in the Node entry (src/index.ts), which
// re-exports all of this. Importing the package registers the Turbo ops and kernels, so a converted
// model also loads with plain tf.loadGraphModel, and does nothing else (no backend is selected).
import { registerTurboOps } from './ops/register_core';

registerTurboOps();

export { registerTurboOps } from './ops/register_core';
export type { RegisterOptions } from './ops/register_core';
export { registerTurboKernels, registerFusedKernels, unregisterFusedKernels, hasFusedKernel } from './ops/kernel_registry';
export { COMPOSITE_MATCHING_FLAG, setCompositeMatching } from './ops/flags';
export type { CompositeMatching } from './ops/flags';
export { turboMerge } from './ops/turbo_merge';
export type { TurboMergeOptions, MergeResult } from './ops/turbo_merge';
export { turboUnmerge } from './ops/turbo_unmerge';
export { proportionalAttentionBias } from './ops/prop_attn_bias';
export { loadTurboModel, warmup } from './runtime/load_web';
export type { WarmupOptions } from './runtime/load_web';
export { loadPreprocessing, preprocess, preprocessPixels } from './image/preprocess_web';
export { loadClassNames } from './image/class_names_web';
export type { Preprocessing, Pixels } from './image/preprocessing';
export { DEFAULT_TURBO_OPTIONS, MERGE_MODE_NAMES, MERGE_SCORE_NAMES, resolveTurboOptions } from './turbo/options';
export type { TurboOptions, RSchedule } from './turbo/options';
export { parseRSchedule, tokenCounts, estimateFlopRatio } from './turbo/schedule';
export { bipartiteMatch, mergeWeighted, unmerge } from './turbo/merge';
export type { Assignment, MergeMode, MergeScore } from './turbo/merge';
export { dropTokens, keptTokenCount } from './ops/drop_tokens';
export type { TurboDropTokensAttrs } from './ops/kernel_names';
// BLIP pipelines (images as preprocessed CHW pixels here; the Node entry decodes files).
export { loadBlipFromUrl } from './blip/load_web';
export { caption, captionBatch } from './blip/caption';
export type { Caption, Captions, CaptionOptions } from './blip/caption';
export { answer, answerBatch } from './blip/answer';
export type { Answer, Answers, AnswerOptions } from './blip/answer';
export { retrieve } from './blip/retrieve';
export type { Ranked, RetrieveOptions } from './blip/retrieve';
export { generate } from './blip/generate';
export type { GenerateOptions, StepFn } from './blip/generate';
export { BlipTokenizer } from './blip/tokenizer';
export { BLIP_TASKS } from './blip/model';
export type { BlipModel, BlipConfig, BlipTask, ImageInput } from './blip/model';
