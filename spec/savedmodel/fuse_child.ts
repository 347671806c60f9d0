// A SavedModel written with a chosen fuse setting (src/savedmodel/fuse.ts), run through
// loadTurboSavedModel on the parity inputs next to the tfjs graph model; for a plain node child
// (spec/helpers/node_child.ts), like spec/helpers/savedmodel_child.ts, which always writes with
// the writer's default (fused).
import * as tf from '@tensorflow/tfjs-core';
import { readGraphModel } from '../../src/graph/model_io';
import { useBackend } from '../../src/runtime/backend';
import { loadTurboSavedModel } from '../../src/savedmodel/load';
import { writeSavedModel } from '../../src/savedmodel/write';
import { loadVitTinyParity } from '../helpers/parity';
import { runModel } from '../helpers/run_turbo';
import { decodeSavedModelOps } from './fuse_ops';

export interface FuseRunJson {
  output: number[];
  graphModelOutput: number[];
  ops: Record<string, number>;
}

/** `oneDnn` false sets TF_ENABLE_ONEDNN_OPTS=0 before TensorFlow loads (see savedmodel_child.ts). */
export async function runWithFuse(modelDir: string, outDir: string, fuse: boolean, oneDnn: boolean): Promise<FuseRunJson> {
  if (!oneDnn) process.env.TF_ENABLE_ONEDNN_OPTS = '0';
  await useBackend('tensorflow');
  await writeSavedModel(await readGraphModel(modelDir), outDir, { fuse });
  const model = await loadTurboSavedModel(outDir);
  const inputs = loadVitTinyParity().inputs;
  const logits = model.predict(inputs) as tf.Tensor;
  const output = Array.from(await logits.data());
  model.dispose();
  const graphModelOutput = Array.from((await runModel(modelDir, null, inputs)).output);
  return { output, graphModelOutput, ops: decodeSavedModelOps(outDir) };
}
