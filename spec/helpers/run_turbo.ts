// Run a graph model, optionally rewritten with Turbo, and read its output and token counts.

import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { rewriteGraph } from '../../src/convert';
import { graphToArtifacts, readGraphModel } from '../../src/graph/model_io';
import { RewriteOptions } from '../../src/rewrite/pass';

export interface TurboRun {
  output: Float32Array;
  /** Tokens after each block (shape[1] of each block output). */
  tokens: number[];
  plannedTokens: number[];
  merges: number;
}

/** `options` null runs the model as it is. */
export async function runModel(dir: string, options: RewriteOptions | null, inputs: tf.Tensor): Promise<TurboRun> {
  const graph = await readGraphModel(dir);
  const summary = options ? rewriteGraph(graph, options) : null;
  const outputName = graph.outputNames()[0].replace(/:0$/, '');
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
  const blockOutputs = summary ? summary.plan.blocks.map((b) => b.mlpResidual.name) : [];
  const result = await model.executeAsync({ pixel_values: inputs }, [outputName, ...blockOutputs]);
  // tfjs returns a bare tensor when a single output is asked for.
  const outs = Array.isArray(result) ? result : [result];
  const output = (await outs[0].data()) as Float32Array;
  const tokens = outs.slice(1).map((t) => t.shape[1]!);
  tf.dispose(outs);
  model.dispose();
  return { output, tokens, plannedTokens: summary?.plan.tokensAfterBlock ?? [], merges: summary?.merges ?? 0 };
}
