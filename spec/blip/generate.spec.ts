// The TypeScript decoding loop over the one-step decoder graphs against HF TensorFlow's generate()
// on the same random-weight models and inputs (reference.json "generate"): captioning without and
// with a prompt, and VQA, greedy and beam search with 3 beams, and captioning with min_length (the end
// token masked), token for token.
import * as tf from '@tensorflow/tfjs-core';
import { answerBatch } from '../../src/blip/answer';
import { captionBatch } from '../../src/blip/caption';
import { BlipModel } from '../../src/blip/model';
import { loadBlip } from '../../src/blip/load';
import { describeBackends } from '../helpers/backends';
import { BLIP_SMALL, GenerateReference, fixtureImages, readJson } from './blip_fixture';

const reference = readJson<{ generate: Record<string, GenerateReference> }>('reference.json').generate;


describeBackends('BLIP generation vs TF generate()', () => {
  let caption: BlipModel;
  let vqa: BlipModel;
  beforeAll(async () => {
    caption = await loadBlip(BLIP_SMALL, 'caption');
    vqa = await loadBlip(BLIP_SMALL, 'vqa');
  });
  afterAll(() => {
    caption.dispose();
    vqa.dispose();
  });

  for (const [name, ref] of Object.entries(reference)) {
    it(`${name}: same token sequences`, async () => {
      const options = { maxLength: ref.kwargs.max_length, beams: ref.kwargs.num_beams, minLength: ref.kwargs.min_length };
      const before = tf.memory().numTensors;
      const got = name.startsWith('vqa')
        ? (await answerBatch(vqa, fixtureImages(), ref.questions!, options)).answers
        : (await captionBatch(caption, fixtureImages(), { ...options, prompt: ref.prompt })).captions;
      expect(got.map((g) => g.ids)).toEqual(ref.sequences);
      expect(got.map((g) => g.text)).toEqual(ref.decoded);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
