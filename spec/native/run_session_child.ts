// A parity model through loadTurboModel's default route on tensorflow, in a plain node child
// (spec/helpers/node_child.ts): the rewritten graph written as a model.json, loaded the way a user
// loads it, its route reported, the logits and every block's token count read through the session.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { rewriteGraph } from '../../src/convert';
import { readGraphModel, writeGraphModel } from '../../src/graph/model_io';
import { RewriteOptions } from '../../src/rewrite/pass';
import { useBackend } from '../../src/runtime/backend';
import { loadTurboModel } from '../../src/runtime/load';
import { loadVitTinyParity } from '../helpers/parity';

export interface SessionRunJson {
  route: string;
  routeReason?: string;
  output: number[];
  tokens: number[];
  plannedTokens: number[];
}

export async function runSessionParity(modelDir: string, options: RewriteOptions | null, cacheDir: string, batch = 8): Promise<SessionRunJson> {
  await useBackend('tensorflow');
  const graph = await readGraphModel(modelDir);
  const summary = options ? rewriteGraph(graph, options) : null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-session-model-'));
  try {
    await writeGraphModel(graph, path.join(dir, 'm'));
    const model = await loadTurboModel(path.join(dir, 'm'), { cacheDir });
    const blocks = summary ? summary.plan.blocks.map((b) => b.mlpResidual.name) : [];
    const all = loadVitTinyParity().inputs;
    const inputs = tf.slice(all, [0], [batch]);
    const outs = model.execute({ pixel_values: inputs }, ['logits', ...blocks]);
    const list = Array.isArray(outs) ? outs : [outs];
    const output = Array.from(await list[0].data());
    const tokens = list.slice(1).map((t) => t.shape[1]!);
    tf.dispose([...list, inputs, all]);
    model.dispose();
    return { route: model.route, ...(model.routeReason ? { routeReason: model.routeReason } : {}), output, tokens, plannedTokens: summary?.plan.tokensAfterBlock ?? [] };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
