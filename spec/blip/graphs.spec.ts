// Every exported BLIP graph (retrieval vision/text/itm, caption vision/decoder, VQA
// vision/question/answer), run through tfjs on each backend, against TensorFlow's own outputs on
// the same inputs (reference.json, made by converters/python/export_blip.py with HF's TF models).
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadTurboModel } from '../../src/runtime/load';
import { runGraph } from '../../src/blip/model';
import { describeBackends } from '../helpers/backends';
import { BLIP_SMALL, GraphReference, flat, maxDiff, readJson, toTensor } from './blip_fixture';

const TOL_TF = 1e-4;
const reference = readJson<{ graphs: Record<string, GraphReference> }>('reference.json');

describeBackends('BLIP graphs vs TensorFlow', () => {
  for (const [name, graph] of Object.entries(reference.graphs)) {
    for (const [caseName, c] of Object.entries(graph.cases)) {
      it(`${name} (${caseName}) within ${TOL_TF}`, async () => {
        const model = await loadTurboModel(path.join(BLIP_SMALL, name));
        const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, toTensor(v)]));
        const names = Object.keys(c.outputs);
        const list = await runGraph(model, feeds, names);
        for (const [i, key] of names.entries()) {
          expect(list[i].shape).toEqual(c.outputs[key].shape);
          expect(maxDiff(await list[i].data(), flat(c.outputs[key]))).toBeLessThan(TOL_TF);
        }
        tf.dispose([...list, ...Object.values(feeds)]);
        model.dispose();
      });
    }
  }
});
