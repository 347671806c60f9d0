// Turbo in BLIP's vision encoder through the rewriting pass, against the numpy Turbo reference
// (vision-turbo-reference.json, spec/reference/turbo_ref.py on the same weights): the merged
// image tokens and their sizes, the image feature, and the ITM logits computed from them.
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { rewriteGraph } from '../../src/convert';
import { graphToArtifacts, readGraphModel } from '../../src/graph/model_io';
import { TurboMerge } from '../../src/ops/kernel_names';
import { registerTurboOps } from '../../src/ops/register';
import { describeBackends } from '../helpers/backends';
import { ArrayData, BLIP_SMALL, GraphReference, flat, maxDiff, pixelValues, readJson, toTensor } from './blip_fixture';

const TOL_TURBO = 2e-3;

interface VisionTurboResult {
  config: { r: number; alpha?: number; rThreshold?: number };
  tokensAfterEachBlock: number[];
  image_embeds: ArrayData;
  sizes: ArrayData;
  image_feat?: ArrayData;
  itm_logits_pairs?: ArrayData;
}
const results = readJson<{ results: VisionTurboResult[] }>('vision-turbo-reference.json').results.filter((r) => r.config.r > 0);
const itmPairs = readJson<{ graphs: Record<string, GraphReference> }>('reference.json').graphs['retrieval/itm'].cases.pairs;

describeBackends('BLIP vision Turbo vs the numpy reference', () => {
  beforeAll(async () => {
    registerTurboOps();
  });

  for (const ref of results) {
    const { r, alpha = 5, rThreshold = 0 } = ref.config;
    it(`r=${r} alpha=${alpha} r_threshold=${rThreshold}: merged tokens, sizes, image_feat and ITM within ${TOL_TURBO}`, async () => {
      const graph = await readGraphModel(path.join(BLIP_SMALL, 'retrieval', 'vision'));
      rewriteGraph(graph, { r, alpha, rThreshold });
      const merges = graph.topoOrder().filter((n) => n.op === TurboMerge);
      const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
      const { data, shape } = pixelValues();
      const pixels = tf.tensor4d(data, shape as [number, number, number, number]);
      const [embeds, feat, sizes] = (model.execute({ pixel_values: pixels }, ['image_embeds', 'image_feat', `${merges[merges.length - 1].name}:1`])) as tf.Tensor[];
      expect(embeds.shape).toEqual(ref.image_embeds.shape);
      expect(embeds.shape[1]).toBe(ref.tokensAfterEachBlock[ref.tokensAfterEachBlock.length - 1]);
      expect(maxDiff(await embeds.data(), flat(ref.image_embeds))).toBeLessThan(TOL_TURBO);
      expect(maxDiff(await sizes.data(), flat(ref.sizes))).toBeLessThan(TOL_TURBO);
      expect(maxDiff(await feat.data(), flat(ref.image_feat!))).toBeLessThan(TOL_TURBO);

      // ITM on the merged tokens: image-major (image, text) pairs, as the reference.
      const itm = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(await readGraphModel(path.join(BLIP_SMALL, 'retrieval', 'itm')))));
      const texts = ref.itm_logits_pairs!.shape[0] / embeds.shape[0];
      const pairs = tf.gather(embeds, tf.tensor1d(Array.from({ length: ref.itm_logits_pairs!.shape[0] }, (_, i) => Math.floor(i / texts)), 'int32'));
      const ids = toTensor(itmPairs.inputs.input_ids);
      const mask = toTensor(itmPairs.inputs.attention_mask);
      const logits = (itm.execute({ input_ids: ids, attention_mask: mask, image_embeds: pairs }, ['itm_logits'])) as tf.Tensor;
      expect(maxDiff(await logits.data(), flat(ref.itm_logits_pairs!))).toBeLessThan(TOL_TURBO);
      tf.dispose([pixels, embeds, feat, sizes, pairs, ids, mask, logits]);
      model.dispose();
      itm.dispose();
    });
  }
});
