// The session route's loading: the graph's cached SavedModel (cache.ts), the Turbo op library
// when the graph has Turbo ops, a TensorFlow session on it. Anything in the way comes back as a
// one-line reason, so loadTurboModel can fall back to op by op and say why.

import * as fs from 'fs';
import { Graph } from '../../graph/ir';
import { loadTurboOpLibrary } from '../../native/op_library';
import { usesTurboOps } from '../../savedmodel/graphdef';
import { SessionGraph, sessionGraph } from './cache';
import { SessionGraphModel, openSession } from './model';

export interface SessionRoute {
  model: SessionGraphModel;
  /** Where the graph TensorFlow runs came from. */
  cache: { dir: string; how: SessionGraph['how'] };
}

export function loadSessionModel(graph: Graph, source: string, cacheDir?: string | false): { model: SessionRoute['model'] & { cache: SessionRoute['cache'] } } | { whyNot: string } {
  if (usesTurboOps(graph)) {
    const lib = loadTurboOpLibrary();
    if (!lib.loaded) return { whyNot: lib.error ?? 'the Turbo op library is not loaded' };
  }
  let made: SessionGraph;
  try {
    made = sessionGraph(graph, source, cacheDir);
  } catch (e) {
    return { whyNot: `the graph cannot be written for TensorFlow: ${firstLine(e)}` };
  }
  try {
    const session = openSession(made.dir);
    const model = new SessionGraphModel(session, made.entry, { source, userDefinedMetadata: graph.modelJson.userDefinedMetadata });
    const cache = { dir: made.how === 'temporary' ? '' : made.dir, how: made.how };
    return { model: Object.assign(model, { cache }) };
  } catch (e) {
    return { whyNot: `TensorFlow did not load the graph: ${firstLine(e)}` };
  } finally {
    // TensorFlow holds the graph in memory once the session exists.
    if (made.how === 'temporary') fs.rmSync(made.dir, { recursive: true, force: true });
  }
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}
