// convertWithTurbo: model.json in, Turbo model.json out. The library entry behind the CLI.

import * as fsp from 'fs/promises';
import * as path from 'path';
import { GraphError, OptionsError, TurboInputError, asTurboError } from './errors';
import { checkOutputNotInput, checkReplaceable } from './output_dir';
import { describeTurbo, isTurboModel, stripTurbo } from './rewrite/strip';
import { packageRoot } from './paths';
import { Graph } from './graph/ir';
import { readGraphModel, writeGraphModel } from './graph/model_io';
import { readSidecars } from './sidecars';
import { NoTransformerBlocksError, RewriteOptions, RewriteSummary, TurboPlan, applyTurbo, planTurbo, validateRewritten } from './rewrite/pass';
import { TurboOptions, resolveTurboOptions } from './turbo/options';
import { checkSavedModelReplaceable } from './savedmodel/output';
import { SavedModelInfo, writeSavedModel } from './savedmodel/write';

export interface ConvertOptions extends Partial<TurboOptions> {
  /** Replace an existing output directory. */
  force?: boolean;
  /** Plan only: nothing is written. */
  dryRun?: boolean;
  /** Force an architecture family instead of detecting it. */
  architecture?: string;
  /** Standard TensorFlow ops instead of the Turbo ops (runs without our op library). */
  portable?: boolean;
  /**
   * 'graph-model' (default): model.json + shards for tfjs. 'savedmodel': a TensorFlow SavedModel
   * (saved_model.pb, signature serving_default) for tfjs-node's loadSavedModel, Python TF, TF
   * Serving; the Turbo ops stay custom ops (load the op library), or standard ops with `portable`.
   */
  format?: OutputFormat;
  /** Files written beside model.json (e.g. the tuner's log), atomically with it. */
  sideFiles?: Record<string, string | Uint8Array>;
  /** Merged into userDefinedMetadata.turbo (e.g. how the settings were tuned). */
  metadata?: Record<string, unknown>;
  onReadProgress?: (done: number, total: number) => void;
  onWriteProgress?: (done: number, total: number) => void;
}

export type OutputFormat = 'graph-model' | 'savedmodel';

export interface ConvertResult extends RewriteSummary {
  outDir: string | null;
  /** What was written for --format savedmodel (null otherwise, or when nothing was written). */
  savedModel: SavedModelInfo | null;
  /** Seconds spent on matching and rewriting, excluding reading and writing the files. */
  rewriteSeconds: number;
}

/** The embedded real ImageNet ViT-Tiny/16-224 shipped in models/. */
export function embeddedModelDir(): string {
  return path.join(packageRoot(), 'models', 'vit-tiny-patch16-224');
}

export async function convertWithTurbo(inDir: string, outDir: string | null, options: ConvertOptions = {}): Promise<ConvertResult> {
  const jsonPath = path.join(inDir, 'model.json');
  try {
    const turbo = resolveTurboOptions(options);
    await checkInputDir(inDir);
    const writing = outDir !== null && !options.dryRun;
    const format = options.format ?? 'graph-model';
    if (writing) await checkOutputTarget(inDir, outDir, !!options.force, format);
    const graph = await readGraphModel(inDir, { onProgress: options.onReadProgress });
    if (isTurboModel(graph)) {
      throw new GraphError(jsonPath, `already converted with Turbo (${describeTurbo(graph)}); convert the original model, or restore it with --strip`);
    }
    const started = process.hrtime.bigint();
    const summary = rewriteGraph(graph, { ...turbo, architecture: options.architecture, portable: options.portable }, jsonPath);
    const rewriteSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (options.metadata) Object.assign(graph.modelJson.userDefinedMetadata!.turbo as object, options.metadata);
    if (!writing) return { ...summary, outDir: null, rewriteSeconds, savedModel: null };
    if (format === 'savedmodel') {
      if (options.sideFiles && Object.keys(options.sideFiles).length) throw new OptionsError('format', 'savedmodel cannot carry side files (tuning logs); convert to a graph model first');
      // --portable promises any TensorFlow: _MklLayerNorm exists only in oneDNN builds, so keep LayerNorm plain.
      const fuse = options.portable ? { layerNorm: false } : true;
      const savedModel = await writeSavedModel(graph, outDir, { overwrite: !!options.force, source: jsonPath, fuse });
      return { ...summary, outDir, rewriteSeconds, savedModel };
    }
    // The model's preprocessing.json and class names travel with it (a web page loads them from the Turbo model's URL).
    const sideFiles = { ...(await readSidecars(inDir)), ...options.sideFiles };
    await writeGraphModel(graph, outDir, { onProgress: options.onWriteProgress, overwrite: !!options.force, sideFiles });
    return { ...summary, outDir, rewriteSeconds, savedModel: null };
  } catch (e) {
    throw asTurboError(e, jsonPath);
  }
}

/** The inverse of convertWithTurbo: writes the original model back from a Turbo model. */
export async function stripTurboModel(inDir: string, outDir: string, options: Pick<ConvertOptions, 'force' | 'onReadProgress' | 'onWriteProgress'> = {}): Promise<void> {
  const jsonPath = path.join(inDir, 'model.json');
  try {
    await checkInputDir(inDir);
    await checkOutputTarget(inDir, outDir, !!options.force);
    const graph = await readGraphModel(inDir, { onProgress: options.onReadProgress });
    stripTurbo(graph, jsonPath);
    await writeGraphModel(graph, outDir, { onProgress: options.onWriteProgress, overwrite: !!options.force });
  } catch (e) {
    throw asTurboError(e, jsonPath);
  }
}

/** Rewrites a graph in memory; missing Turbo options take their defaults (src/turbo/options.ts). */
export function rewriteGraph(graph: Graph, partial: Partial<RewriteOptions>, source = 'model.json'): RewriteSummary {
  const options: RewriteOptions = { ...resolveTurboOptions(partial), architecture: partial.architecture, portable: partial.portable };
  const plan = planModel(graph, options, source);
  checkScheduleFits(plan.schedule, plan.tokenCount);
  const summary = applyTurbo(graph, plan, options);
  const problems = validateRewritten(graph, plan);
  // The input was validated when read: a broken result is our bug, not the user's model.
  if (problems.length) throw new Error(`rewritten graph is invalid: ${problems.slice(0, 3).join('; ')}`);
  return summary;
}

/** planTurbo, with "no blocks we recognise" as the one-line GraphError naming `source` (the user's model, not our bug). */
export function planModel(graph: Graph, options: Pick<RewriteOptions, 'r' | 'rThreshold' | 'architecture'>, source: string): TurboPlan {
  try {
    return planTurbo(graph, options);
  } catch (e) {
    if (e instanceof NoTransformerBlocksError) throw new NoTransformerBlocksError(e.problem, source);
    throw e;
  }
}

/** An r above the model's token count is a typo, not a request to clamp (clamping handles the late blocks). */
function checkScheduleFits(schedule: number[], tokenCount: number): void {
  const i = schedule.findIndex((r) => r > tokenCount);
  if (i >= 0) throw new OptionsError('r', `${schedule[i]} (block ${i}) is more than the model's ${tokenCount} tokens`);
}

export async function checkInputDir(inDir: string): Promise<void> {
  let st;
  try {
    st = await fsp.stat(inDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TurboInputError(inDir, code === 'ENOENT' ? 'not found' : `cannot be read (${code})`);
  }
  if (!st.isDirectory()) throw new TurboInputError(inDir, 'is not a directory; IN_DIR is the directory holding model.json and its shards');
}

export async function checkOutputTarget(inDir: string, outDir: string, force: boolean, format: OutputFormat = 'graph-model'): Promise<void> {
  await checkOutputNotInput(inDir, outDir);
  // --force may replace a SavedModel directory only when writing one.
  if (format === 'savedmodel') await checkSavedModelReplaceable(outDir, force);
  else await checkReplaceable(outDir, force);
}
