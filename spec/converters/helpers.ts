// Tiny random ViT checkpoints for converter tests, and running a converted graph.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { Graph } from '../../src/graph/ir';
import { graphToArtifacts } from '../../src/graph/model_io';
import { VitShape } from '../../scripts/random_vit';

/** 4x4 patches of 32x32 images: 17 tokens, fast on any backend. */
export const TINY: VitShape = { hidden: 32, layers: 2, heads: 2, mlp: 64, image: 32, patch: 8, classes: 10 };

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function seededImages(batch: number, size: number, seed = 1): tf.Tensor4D {
  let s = seed;
  const data = new Float32Array(batch * 3 * size * size).map(() => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648) * 2 - 1;
  });
  return tf.tensor4d(data, [batch, 3, size, size]);
}

export async function runGraph(graph: Graph, images: tf.Tensor4D): Promise<Float32Array> {
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
  const out = model.execute({ pixel_values: images }, 'Identity:0') as tf.Tensor;
  const data = out.dataSync() as Float32Array;
  out.dispose();
  model.dispose();
  return data;
}

export function opCounts(graph: Graph): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of graph.nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
  return counts;
}
