// loadTurboModel for Node: registers the Turbo ops, then loads a graph model from a local directory
// or a URL (or any tf.io handler, as src/runtime/load_web.ts does in the browser). Local models are
// checked like any input (src/graph/validate_input.ts) and their Turbo settings against the model
// they claim to fit.

import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { GraphError } from '../errors';
import { Graph, attrInt } from '../graph/ir';
import { graphToArtifacts, readGraphModel } from '../graph/model_io';
import { TurboMerge } from '../ops/kernel_names';
import { registerTurboOps } from '../ops/register';
import { refuseEmptyBatches } from './load_web';

export async function loadTurboModel(pathOrUrl: string | tf.io.IOHandler): Promise<GraphModel> {
  registerTurboOps();
  if (typeof pathOrUrl === 'string' && isLocalPath(pathOrUrl)) {
    const local = pathOrUrl.replace(/^file:\/\//, '');
    const graph = await readGraphModel(local);
    checkMergeSettings(graph, local.endsWith('.json') ? local : path.join(local, 'model.json'));
    return refuseEmptyBatches(await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph))));
  }
  return refuseEmptyBatches(await loadGraphModel(pathOrUrl));
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
  }
}

function isLocalPath(p: string): boolean {
  if (/^https?:\/\//.test(p)) return false;
  return p.startsWith('file://') || (typeof fs.existsSync === 'function' && fs.existsSync(p));
}
