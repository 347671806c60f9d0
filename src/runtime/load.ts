// loadTurboModel: registers the Turbo ops, then loads a graph model from a local directory
// (Node) or a URL (browser, or any tf.io handler).

import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { graphToArtifacts, readGraphModel } from '../graph/model_io';
import { registerTurboOps } from '../ops/register';

export async function loadTurboModel(pathOrUrl: string | tf.io.IOHandler): Promise<GraphModel> {
  registerTurboOps();
  if (typeof pathOrUrl === 'string' && isLocalPath(pathOrUrl)) {
    const graph = await readGraphModel(pathOrUrl.replace(/^file:\/\//, ''));
    return loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
  }
  return loadGraphModel(pathOrUrl);
}

function isLocalPath(p: string): boolean {
  if (/^https?:\/\//.test(p)) return false;
  return p.startsWith('file://') || (typeof fs.existsSync === 'function' && fs.existsSync(p));
}
