// The rewritten real ViT-Tiny against the official Turbo implementation's outputs
// (../shared/parity/vit-tiny-turbo.json, 9 configurations), on cpu and wasm.

import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { EMBEDDED_MODEL_DIR, rewriteGraph } from '../../src/convert';
import { graphToArtifacts, readGraphModel } from '../../src/graph/model_io';
import { registerTurboOps } from '../../src/ops/register';
import { useBackend } from '../../src/runtime/backend';
import { argmaxRows, loadVitTinyParity, maxAbsDiff, toOptions } from '../helpers/parity';

const { results, inputs } = loadVitTinyParity();

async function runRewritten(config: (typeof results)[number]['config']) {
  const graph = await readGraphModel(EMBEDDED_MODEL_DIR);
  const summary = rewriteGraph(graph, toOptions(config));
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
  const blockOutputs = summary.plan.blocks.map((b) => b.mlpResidual.name);
  const outs = (await model.executeAsync({ pixel_values: inputs }, ['logits', ...blockOutputs])) as tf.Tensor[];
  const logits = await outs[0].data();
  const tokens = outs.slice(1).map((t) => t.shape[1]!);
  tf.dispose(outs);
  model.dispose();
  return { logits, tokens, summary };
}

describe.each(['cpu', 'wasm'] as const)('rewritten ViT-Tiny vs official Turbo (%s)', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
    registerTurboOps();
  });

  test.each(results.map((r) => [JSON.stringify(r.config), r] as const))('%s', async (_name, expected) => {
    const { logits, tokens, summary } = await runRewritten(expected.config);
    expect(tokens).toEqual(expected.tokensAfterEachBlock);
    expect(summary.plan.tokensAfterBlock).toEqual(expected.tokensAfterEachBlock);
    expect(maxAbsDiff(logits, expected.logits.flat())).toBeLessThan(2e-3);
    expect(argmaxRows(logits, 1000)).toEqual(expected.top1);
  });
});

describe('r = 0 leaves the network unchanged', () => {
  test.each(['cpu', 'wasm'] as const)('%s: rewritten graph equals the original within 1e-6', async (backend) => {
    await useBackend(backend);
    registerTurboOps();
    const original = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(await readGraphModel(EMBEDDED_MODEL_DIR))));
    const a = await (original.execute({ pixel_values: inputs }, 'logits') as tf.Tensor).data();
    const { logits: b, summary } = await runRewritten({ r: 0, alpha: 5 });
    expect(summary.merges).toBe(0);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
    original.dispose();
  });
});
