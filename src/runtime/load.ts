// loadTurboModel for Node: registers the Turbo ops, then loads a graph model from a local directory
// or a URL (or any tf.io handler, as src/runtime/load_web.ts does in the browser). Local models are
// checked like any input (src/graph/validate_input.ts) and their Turbo settings against the model
// they claim to fit.
//
// On the tensorflow backend a local model runs as one TensorFlow graph (src/runtime/session/): the
// same model.json, converted by the SavedModel writer into a cached GraphDef, one session call per
// execute. tfjs's executor would dispatch its ~900 kernels one by one, which costs ViT-Tiny more
// than its arithmetic at batch 1 (docs/BENCHMARKS.md). { route: 'op-by-op' } keeps tfjs's executor,
// which every other backend uses.

import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { GraphError, TurboInputError } from '../errors';
import { Graph, attrInt } from '../graph/ir';
import { graphToArtifacts, readGraphModel } from '../graph/model_io';
import { TurboMerge } from '../ops/kernel_names';
import { registerTurboOps } from '../ops/register';
import { loadNotingExecution, refuseEmptyBatches } from './load_web';
import { noteExecution, opsNeedAsync } from './execution';
import { SessionRoute, loadSessionModel } from './session/load';

export type TurboRoute = 'session' | 'op-by-op';

export interface TurboLoadOptions {
  /**
   * 'session': one TensorFlow graph per call (tensorflow backend, local model; fails otherwise).
   * 'op-by-op': tfjs's graph executor. Default: 'session' where it can run, else 'op-by-op' with
   * `routeReason` saying why.
   */
  route?: TurboRoute;
  /** Where converted graphs are cached (default: TFJS_TURBO_CACHE or ~/.cache/tfjs-turbo, then graphs/); false: convert into a temporary directory on every load. */
  cacheDir?: string | false;
}

/** A loaded Turbo model: a GraphModel, plus which route runs it and why. */
export type TurboGraphModel = GraphModel & { readonly route: TurboRoute; readonly routeReason?: string; readonly cache?: SessionRoute['cache'] };

export async function loadTurboModel(pathOrUrl: string | tf.io.IOHandler, options: TurboLoadOptions = {}): Promise<TurboGraphModel> {
  registerTurboOps();
  const local = typeof pathOrUrl === 'string' && isLocalPath(pathOrUrl) ? pathOrUrl.replace(/^file:\/\//, '') : null;
  if (local === null) {
    // A URL or handler gives tfjs artifacts, not the files the cache key and the writer read.
    const why = tf.getBackend() === 'tensorflow' ? 'only local models run as one TensorFlow graph' : `the ${tf.getBackend()} backend runs graphs op by op`;
    if (options.route === 'session') throw new TurboInputError(String(pathOrUrl), `route 'session' is not available: ${why}`);
    return opByOp(await loadNotingExecution(pathOrUrl), why);
  }

  return loadTurboGraph(await readGraphModel(local), local.endsWith('.json') ? local : path.join(local, 'model.json'), options);
}

/** loadTurboModel for a graph already read (and checked) by the caller; `source` is its model.json, named in errors. */
export async function loadTurboGraph(graph: Graph, source: string, options: TurboLoadOptions = {}): Promise<TurboGraphModel> {
  registerTurboOps();
  checkMergeSettings(graph, source);
  let reason = tf.getBackend() !== 'tensorflow' ? `the ${tf.getBackend()} backend runs graphs op by op` : options.route === 'op-by-op' ? 'asked for' : undefined;
  if (options.route === 'session' && reason) throw new TurboInputError(source, `route 'session' is not available: ${reason}`);
  if (reason === undefined) {
    const session = loadSessionModel(graph, source, options.cacheDir);
    // One TensorFlow session call runs control flow too: execute always works.
    if ('model' in session) return noteExecution(session.model, false);
    if (options.route === 'session') throw new TurboInputError(source, `route 'session' is not available: ${session.whyNot}`);
    reason = session.whyNot;
  }
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
  return opByOp(noteExecution(model, opsNeedAsync(graph.nodes.map((n) => n.op))), reason);
}

function opByOp(model: GraphModel, reason: string | undefined): TurboGraphModel {
  return Object.assign(refuseEmptyBatches(model), { route: 'op-by-op' as const, ...(reason ? { routeReason: reason } : {}) });
}

/**
 * A TurboMerge asking for more tokens than the model has was edited by hand (the converter never
 * writes one); clamping it silently would hide that.
 */
function checkMergeSettings(graph: Graph, source: string): void {
  const meta = graph.modelJson.userDefinedMetadata?.turbo as { tokenCount?: unknown } | undefined;
  const tokens = typeof meta?.tokenCount === 'number' ? meta.tokenCount : undefined;
  if (tokens === undefined) return;
  for (const n of graph.nodes) {
    if (n.op !== TurboMerge) continue;
    const r = attrInt(n, 'r');
    if (r !== undefined && !(r >= 0 && r <= tokens)) {
      throw new GraphError(source, `TurboMerge node '${n.name}' has r = ${r}, outside [0, ${tokens}] for this ${tokens}-token model`);
    }
    const p = attrInt(n, 'protected_tokens');
    if (p !== undefined && !(p >= 0 && p <= tokens - 2)) {
      throw new GraphError(source, `TurboMerge node '${n.name}' has protected_tokens = ${p}, outside [0, ${tokens - 2}] for this ${tokens}-token model (merging needs 2 unprotected tokens)`);
    }
  }
}

/**
 * Anything without a URL scheme is a local path, found or not: a missing directory handed to
 * loadGraphModel made fetch fail with "Failed to parse URL" instead of naming the path.
 */
function isLocalPath(p: string): boolean {
  return p.startsWith('file://') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(p);
}
