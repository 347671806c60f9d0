// tfjs-turbo public API for Node (the `node` condition of the exports map): everything the browser
// entry (src/browser.ts) has, plus conversion, file IO, sharp preprocessing, backend selection and
// loading from local directories. Importing the package registers the Turbo ops and kernels, so a
// converted model loads with plain tf.loadGraphModel, and does nothing else: no backend is loaded
// or selected (useBackend does that), no file is read.
import { registerTurboOps } from './ops/register';

registerTurboOps();

export { registerTurboOps, registerTurboKernels, registerFusedKernels, unregisterFusedKernels, hasFusedKernel } from './ops/register';
export type { RegisterOptions } from './ops/register';
export { COMPOSITE_MATCHING_FLAG, setCompositeMatching } from './ops/flags';
export type { CompositeMatching } from './ops/flags';
export { turboMerge } from './ops/turbo_merge';
export type { TurboMergeOptions, MergeResult } from './ops/turbo_merge';
export { turboUnmerge } from './ops/turbo_unmerge';
export { proportionalAttentionBias } from './ops/prop_attn_bias';
export { loadTurboModel } from './runtime/load';
export { warmup } from './runtime/load_web';
export type { WarmupOptions } from './runtime/load_web';
export { preprocessPixels } from './image/preprocessing';
export type { Preprocessing, Pixels } from './image/preprocessing';
export { preprocessImage, readPreprocessing } from './image/preprocess';
export { loadClassNames } from './image/class_names_web';
export { useBackend, tryLoadNativeBackend } from './runtime/backend';
export type { BackendName } from './runtime/backend';
export { convertWithTurbo, rewriteGraph, embeddedModelDir } from './convert';
export type { ConvertOptions, ConvertResult } from './convert';
export { DEFAULT_TURBO_OPTIONS, MERGE_MODE_NAMES, MERGE_SCORE_NAMES, resolveTurboOptions } from './turbo/options';
export type { TurboOptions, RSchedule } from './turbo/options';
export { parseRSchedule, tokenCounts, estimateFlopRatio } from './turbo/schedule';
export { bipartiteMatch, mergeWeighted, unmerge } from './turbo/merge';
export type { Assignment, MergeMode, MergeScore } from './turbo/merge';
export { readGraphModel, writeGraphModel } from './graph/model_io';
export { TurboInputError } from './errors';
export { loadTurboSavedModel } from './savedmodel/load';
export type { TurboSavedModel } from './savedmodel/load';
export { writeSavedModel } from './savedmodel/write';
export type { SavedModelInfo, SavedModelWriteOptions } from './savedmodel/write';
export { dropTokens, keptTokenCount } from './ops/drop_tokens';
export type { TurboDropTokensAttrs } from './ops/kernel_names';
export { applyTextDrop } from './rewrite/text_drop';
export type { TextDropOptions } from './rewrite/text_drop';
// BLIP: load a model directory, run its tasks, convert it with Turbo.
export { loadBlip } from './blip/load';
export { loadBlipFromUrl } from './blip/load_web';
export { convertBlipWithTurbo, BLIP_VISION_DEFAULTS } from './blip/convert';
export type { BlipConvertOptions, BlipConvertResult } from './blip/convert';
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
