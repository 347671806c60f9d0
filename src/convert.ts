// convertWithTurbo: model.json in, Turbo model.json out. The library entry behind the CLI.

import * as fs from 'fs';
import * as path from 'path';
import { TurboInputError } from './errors';
import { packageRoot } from './paths';
import { Graph } from './graph/ir';
import { readGraphModel, writeGraphModel } from './graph/model_io';
import { NoTransformerBlocksError, RewriteOptions, RewriteSummary, applyTurbo, planTurbo, validateRewritten } from './rewrite/pass';
import { TurboOptions, resolveTurboOptions } from './turbo/options';

export interface ConvertOptions extends Partial<TurboOptions> {
  /** Replace an existing output directory. */
  force?: boolean;
  /** Plan only: nothing is written. */
  dryRun?: boolean;
  /** Force an architecture family instead of detecting it. */
  architecture?: string;
  onReadProgress?: (done: number, total: number) => void;
  onWriteProgress?: (done: number, total: number) => void;
}

export interface ConvertResult extends RewriteSummary {
  outDir: string | null;
  /** Seconds spent on matching and rewriting, excluding reading and writing the files. */
  rewriteSeconds: number;
}

/** The embedded real ImageNet ViT-Tiny/16-224 shipped in models/. */
export const EMBEDDED_MODEL_DIR = path.join(packageRoot(), 'models', 'vit-tiny-patch16-224');

export async function convertWithTurbo(inDir: string, outDir: string | null, options: ConvertOptions = {}): Promise<ConvertResult> {
  const turbo = resolveTurboOptions(options);
  const inModel = modelDir(inDir);
  if (outDir !== null && !options.dryRun) checkOutDir(inModel, outDir, !!options.force);
  const graph = await readGraphModel(inModel, { onProgress: options.onReadProgress });
  const started = process.hrtime.bigint();
  const summary = rewriteGraph(graph, { ...turbo, architecture: options.architecture }, path.join(inModel, 'model.json'));
  const rewriteSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (options.dryRun || outDir === null) return { ...summary, outDir: null, rewriteSeconds };
  await writeGraphModel(graph, outDir, { onProgress: options.onWriteProgress, overwrite: !!options.force });
  return { ...summary, outDir, rewriteSeconds };
}

/** Rewrites a graph in memory; errors name `source` (the model.json it came from). */
export function rewriteGraph(graph: Graph, options: RewriteOptions, source = 'model.json'): RewriteSummary {
  try {
    const plan = planTurbo(graph, options);
    const summary = applyTurbo(graph, plan, options);
    const problems = validateRewritten(graph, plan);
    if (problems.length) throw new Error(`rewritten graph is invalid: ${problems.slice(0, 3).join('; ')}`);
    return summary;
  } catch (e) {
    if (e instanceof NoTransformerBlocksError) throw new TurboInputError(source, e.message);
    throw e;
  }
}

function modelDir(p: string): string {
  return p.endsWith('.json') ? path.dirname(p) : p;
}

function checkOutDir(inDir: string, outDir: string, force: boolean): void {
  const a = path.resolve(inDir);
  const b = path.resolve(outDir);
  if (a === b || a.startsWith(b + path.sep)) {
    throw new TurboInputError(outDir, 'output directory is the input model (or contains it); choose another OUT_DIR');
  }
  if (b.startsWith(a + path.sep)) {
    throw new TurboInputError(outDir, 'output directory is inside the input model directory; choose another OUT_DIR');
  }
  if (fs.existsSync(b) && !force) {
    throw new TurboInputError(outDir, 'already exists; pass --force to replace it');
  }
}
