// A rewritten model saved to disk and loaded again in a fresh Node process gives the same
// outputs: the saved files alone carry the whole Turbo configuration.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { embeddedModelDir, convertWithTurbo, rewriteGraph } from '../../src/convert';
import { graphToArtifacts, readGraphModel } from '../../src/graph/model_io';
import { registerTurboOps } from '../../src/ops/register';
import { useBackend } from '../../src/runtime/backend';
import { loadVitTinyParity, maxAbsDiff, toOptions } from '../helpers/parity';

const CHILD = path.resolve(__dirname, '..', '..', 'dist', 'spec', 'helpers', 'run_saved_model.js');

test('saved Turbo model reloaded in a fresh process reproduces the in-memory outputs', async () => {
  if (!fs.existsSync(CHILD)) throw new Error(`${CHILD} missing: npm test builds it (tsc) before jest`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-saved-'));
  try {
    const config = { r: 16, alpha: 5 } as const;
    const out = path.join(tmp, 'vit-turbo');
    await convertWithTurbo(embeddedModelDir(), out, toOptions(config));

    await useBackend('wasm');
    registerTurboOps();
    const graph = await readGraphModel(embeddedModelDir());
    rewriteGraph(graph, toOptions(config));
    const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
    const expected = await ((await model.executeAsync({ pixel_values: loadVitTinyParity().inputs }, 'logits')) as tf.Tensor).data();

    const stdout = execFileSync(process.execPath, [CHILD, out, 'wasm'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const logits: number[] = JSON.parse(stdout);
    expect(maxAbsDiff(logits, expected)).toBeLessThan(1e-5);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
