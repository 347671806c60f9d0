// Logits of a graph model on the 8 ViT-Tiny parity images; run in a plain node child (node_child.ts).

import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { graphToArtifacts, readGraphModel } from '../../src/graph/model_io';
import { BackendName, useBackend } from '../../src/runtime/backend';
import { loadVitTinyParity } from '../helpers/parity';

export async function parityLogits(backend: BackendName, modelDir: string): Promise<{ shape: number[]; logits: number[] }> {
  await useBackend(backend);
  const { inputs } = loadVitTinyParity();
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(await readGraphModel(modelDir))));
  const out = model.execute({ pixel_values: inputs }, 'Identity:0') as tf.Tensor;
  return { shape: out.shape, logits: Array.from(out.dataSync()) };
}
