// Mean-pooled ViTs (timm global_pool='avg', through our converter): the pool is found, and after
// merging it becomes the size-weighted mean over the patch tokens, Σ x·size / Σ size, checked
// against that sum computed here from the graph's own tokens and sizes.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { convertVitCheckpointTo } from '../../converters/vit';
import { rewriteGraph } from '../../src/convert';
import { graphToArtifacts, readGraphModel } from '../../src/graph/model_io';
import { registerTurboOps } from '../../src/ops/register';
import { planTurbo } from '../../src/rewrite/pass';
import { writeRandomVit } from '../../scripts/random_vit';

const SHAPE = { hidden: 32, layers: 3, heads: 2, mlp: 64, image: 32, patch: 8, classes: 5 }; // 16 patches + class token

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-meanpool-'));
  const { weights, config } = writeRandomVit(path.join(dir, 'ckpt'), SHAPE, 3);
  fs.writeFileSync(config, JSON.stringify({ ...JSON.parse(fs.readFileSync(config, 'utf8')), global_pool: 'avg' }));
  await convertVitCheckpointTo(weights, config, path.join(dir, 'graph'));
  await tf.setBackend('cpu');
  registerTurboOps();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the mean over the patch tokens is found', async () => {
  const plan = planTurbo(await readGraphModel(path.join(dir, 'graph')), { r: 2, rThreshold: 0 });
  expect(plan.meanPools).toEqual([{ node: 'vit/pool', tokenOffset: 1 }]);
});

test('after merging, the pool is Σ x·size / Σ size over the patch tokens', async () => {
  const g = await readGraphModel(path.join(dir, 'graph'));
  const { plan } = rewriteGraph(g, { r: 3, alpha: 1 });
  const last = plan.blocks[plan.blocks.length - 1].mlpResidual.name;
  const merges = g.nodes.filter((n) => n.op === 'TurboMerge');
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(g)));
  const x = tf.randomUniform([2, 3, 32, 32], -1, 1, 'float32', 11);
  const [pooled, tokens, sizes] = model.execute({ pixel_values: x }, ['turbo/weighted_pool/mean', last, `${merges[merges.length - 1].name}:1`]) as tf.Tensor[];
  const [B, T, C] = tokens.shape as number[];
  expect(T).toBe(17 - 3 * 3);
  const t = tokens.dataSync();
  const s = sizes.dataSync();
  const p = pooled.dataSync();
  let maxDiff = 0;
  let plainDiff = 0;
  for (let b = 0; b < B; b++) {
    let total = 0;
    for (let i = 1; i < T; i++) total += s[b * T + i];
    expect(total).toBe(16); // every patch counted once
    for (let c = 0; c < C; c++) {
      let weighted = 0;
      let plain = 0;
      for (let i = 1; i < T; i++) {
        weighted += t[(b * T + i) * C + c] * s[b * T + i];
        plain += t[(b * T + i) * C + c];
      }
      maxDiff = Math.max(maxDiff, Math.abs(p[b * C + c] - weighted / total));
      plainDiff = Math.max(plainDiff, Math.abs(p[b * C + c] - plain / (T - 1)));
    }
  }
  expect(maxDiff).toBeLessThan(1e-5);
  expect(plainDiff).toBeGreaterThan(1e-4); // the weighting changes the result
});

test('r = 0 leaves the mean-pooled model as it was', async () => {
  const original = await readGraphModel(path.join(dir, 'graph'));
  const g = await readGraphModel(path.join(dir, 'graph'));
  rewriteGraph(g, { r: 0 });
  const x = tf.randomUniform([2, 3, 32, 32], -1, 1, 'float32', 12);
  const run = async (graph: typeof g) => (((await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)))).execute({ pixel_values: x }, 'Identity')) as tf.Tensor).dataSync();
  const [a, b] = [await run(original), await run(g)];
  expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-6);
});
