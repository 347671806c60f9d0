// retrieve() on the unconverted fixture against TensorFlow's own features and ITM logits
// (reference.json: retrieval/vision image_feat, retrieval/text text_feat, retrieval/itm on every
// image-text pair): ITC picks the reference's top k, scores agree, ITM re-ranks, nothing leaks.
import * as tf from '@tensorflow/tfjs-core';
import { loadBlip } from '../../src/blip/load';
import { BlipModel } from '../../src/blip/model';
import { retrieve } from '../../src/blip/retrieve';
import { describeBackends } from '../helpers/backends';
import { BLIP_SMALL, GraphReference, flat, fixtureImages, readJson } from './blip_fixture';

const graphs = readJson<{ graphs: Record<string, GraphReference> }>('reference.json').graphs;
const texts = ['a photo of a dog', 'a goldfish swimming in the water.', 'Two Zebras standing on the grass ☺'];


describeBackends('retrieve() vs TensorFlow', () => {
  let model: BlipModel;
  beforeAll(async () => {
    model = await loadBlip(BLIP_SMALL, 'retrieval');
  });
  afterAll(() => model.dispose());

  it('k = 2 of 3 texts: the ITC top 2, ITC and ITM scores within 1e-4, best ITM first, no tensor left', async () => {
    const imageFeat = graphs['retrieval/vision'].cases.main.outputs.image_feat;
    const textFeat = flat(graphs['retrieval/text'].cases.main.outputs.text_feat);
    const itmLogits = flat(graphs['retrieval/itm'].cases.pairs.outputs.itm_logits);
    const e = imageFeat.shape[1];
    const feat = flat(imageFeat);
    const before = tf.memory().numTensors;
    const ranked = await retrieve(model, fixtureImages(), texts, { k: 2 });
    expect(tf.memory().numTensors).toBe(before);
    ranked.forEach((list, i) => {
      const itc = texts.map((_, j) => feat.slice(i * e, (i + 1) * e).reduce((s, v, c) => s + v * textFeat[j * e + c], 0));
      const top2 = [...itc.keys()].sort((a, b) => itc[b] - itc[a]).slice(0, 2);
      expect(list.map((r) => r.text).sort()).toEqual(top2.sort());
      for (const r of list) {
        expect(Math.abs(r.itc - itc[r.text])).toBeLessThan(1e-4);
        const [a, b] = [itmLogits[(i * 3 + r.text) * 2], itmLogits[(i * 3 + r.text) * 2 + 1]];
        expect(Math.abs(r.itm - 1 / (1 + Math.exp(a - b)))).toBeLessThan(1e-4);
      }
      expect(list[0].itm).toBeGreaterThanOrEqual(list[1].itm);
    });
  });

  it('k must be at least 1', async () => {
    await expect(retrieve(model, fixtureImages(), texts, { k: 0 })).rejects.toThrow(/k must be a whole number of at least 1, got 0/);
  });
});
