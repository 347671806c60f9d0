// One set of random weights written under timm names and under HF transformers names converts to
// the same graph: same weights byte for byte, same logits.

import * as fs from 'fs';
import * as path from 'path';
import { convertVitCheckpoint } from '../../converters/vit';
import { useBackend } from '../../src/runtime/backend';
import { writeRandomVit } from '../../scripts/random_vit';
import { TINY, runGraph, seededImages, tmpDir } from './helpers';

let tmp: string;
beforeAll(async () => {
  await useBackend('cpu');
  tmp = tmpDir('turbo-vit-naming-');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('timm and HF names give identical weights and logits', async () => {
  const timm = writeRandomVit(path.join(tmp, 'timm'), TINY, 7, 'timm');
  const hf = writeRandomVit(path.join(tmp, 'hf'), TINY, 7, 'hf');
  const a = await convertVitCheckpoint(timm.weights, timm.config);
  const b = await convertVitCheckpoint(hf.weights, hf.config);
  expect(a.modelJson.userDefinedMetadata).toEqual({ source: { checkpoint: 'model.safetensors', naming: 'timm' } });
  expect(b.modelJson.userDefinedMetadata).toEqual({ source: { checkpoint: 'model.safetensors', naming: 'hf' } });

  expect([...b.weights.keys()]).toEqual([...a.weights.keys()]);
  for (const [name, w] of a.weights) expect(Buffer.from(b.weights.get(name)!.bytes).equals(Buffer.from(w.bytes))).toBe(true);

  const images = seededImages(2, TINY.image);
  const la = await runGraph(a, images);
  const lb = await runGraph(b, images);
  expect(la).toHaveLength(2 * TINY.classes);
  expect(Array.from(la).every(Number.isFinite)).toBe(true);
  expect(Array.from(lb)).toEqual(Array.from(la));
});

test('both bias forms compute the same logits', async () => {
  const { weights, config } = writeRandomVit(path.join(tmp, 'bias'), TINY, 3);
  const fused = await convertVitCheckpoint(weights, config, { denseBias: 'fused' });
  const separate = await convertVitCheckpoint(weights, config, { denseBias: 'separate' });
  expect(fused.nodes.some((n) => n.op === 'BiasAdd')).toBe(false);
  expect(separate.nodes.filter((n) => n.op === 'BiasAdd')).toHaveLength(6 * TINY.layers);
  const images = seededImages(2, TINY.image, 5);
  const a = await runGraph(fused, images);
  const b = await runGraph(separate, images);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
});
