// Writes a (optionally Turbo-rewritten) graph model as a SavedModel and runs it through
// loadTurboSavedModel on the parity inputs; meant for a plain node child (node_child.ts), so a
// crash inside TensorFlow fails one test instead of the jest worker.
import * as tf from '@tensorflow/tfjs-core';
import { rewriteGraph } from '../../src/convert';
import { readGraphModel } from '../../src/graph/model_io';
import { RewriteOptions } from '../../src/rewrite/pass';
import { useBackend } from '../../src/runtime/backend';
import { loadTurboSavedModel, tfjsNode } from '../../src/savedmodel/load';
import { BLOCKS_SIGNATURE, SERVE_TAG } from '../../src/savedmodel/signature';
import { writeSavedModel } from '../../src/savedmodel/write';
import { loadVitTinyParity } from './parity';
import { runModel } from './run_turbo';

export interface SavedModelRunJson {
  output: number[];
  /** Tokens after each block, read from the turbo_blocks signature (Turbo models only). */
  tokens: number[];
  plannedTokens: number[];
  turboOps: boolean;
  bytes: number;
  /** The same graph run op by op as a tfjs graph model on the tensorflow backend (when asked). */
  graphModelOutput?: number[];
}

/**
 * `oneDnn` false sets TF_ENABLE_ONEDNN_OPTS=0 before TensorFlow loads: TensorFlow then runs the
 * session's graph with the same kernels tfjs-node runs op by op, so the two agree exactly; with
 * oneDNN's graph rewrites on (what tryLoadNativeBackend asks for unless the variable is set) they
 * differ by float rounding.
 */
export async function runSavedModelParity(modelDir: string, outDir: string, options: RewriteOptions | null, alsoGraphModel: boolean, oneDnn = true): Promise<SavedModelRunJson> {
  if (!oneDnn) process.env.TF_ENABLE_ONEDNN_OPTS = '0';
  await useBackend('tensorflow');
  const graph = await readGraphModel(modelDir);
  const summary = options ? rewriteGraph(graph, options) : null;
  const info = await writeSavedModel(graph, outDir, { blockSignature: summary !== null && summary.merges > 0 });
  const model = await loadTurboSavedModel(outDir);
  const inputs = loadVitTinyParity().inputs;
  const logits = model.predict(inputs) as tf.Tensor;
  const output = Array.from(await logits.data());
  let tokens: number[] = [];
  if (summary && summary.merges > 0) {
    const blocks = await tfjsNode().node.loadSavedModel(outDir, [SERVE_TAG], BLOCKS_SIGNATURE);
    // Named inputs give named outputs (a bare tensor gives a list in the protobuf map's key order).
    const outs = blocks.predict({ pixel_values: inputs }) as tf.NamedTensorMap;
    tokens = Object.keys(outs)
      .sort((a, b) => Number(a.split('_')[1]) - Number(b.split('_')[1]))
      .map((k) => outs[k].shape[1]!);
    blocks.dispose();
  }
  model.dispose();
  const graphModelOutput = alsoGraphModel ? Array.from((await runModel(modelDir, options, inputs)).output) : undefined;
  return { output, tokens, plannedTokens: summary?.plan.tokensAfterBlock ?? [], turboOps: info.turboOps, bytes: info.bytes, graphModelOutput };
}
