// execute or executeAsync decided from the graph's ops when it is loaded (runtime/execution.ts),
// not by trying execute and reading tfjs's error text: BLIP's decoders keep a tf.cond (control
// flow), its vision encoder does not; a model loaded outside our loaders takes executeAsync.
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { needsExecuteAsync } from '../../src/runtime/execution';
import { loadTurboModel } from '../../src/runtime/load';
import { loadTurboModel as loadFromHandler } from '../../src/runtime/load_web';
import { useBackend } from '../../src/runtime/backend';
import { graphToArtifacts, readGraphModel } from '../../src/graph/model_io';
import { BLIP_SMALL } from '../blip/blip_fixture';

beforeAll(() => useBackend('cpu'));

test.each([
  ['caption/decoder', true],
  ['vqa/answer', true],
  ['caption/vision', false],
  ['retrieval/itm', false],
])('%s: needs executeAsync = %s, from a directory and from an IO handler', async (part, expected) => {
  const dir = path.join(BLIP_SMALL, part);
  const graph = await readGraphModel(dir);
  // The fixture's own ops say the same, independently of our list: tfjs refuses execute exactly then.
  const fromDir = await loadTurboModel(dir, { route: 'op-by-op' });
  const fromHandler = await loadFromHandler(tf.io.fromMemory(graphToArtifacts(graph)));
  expect([needsExecuteAsync(fromDir), needsExecuteAsync(fromHandler)]).toEqual([expected, expected]);
  const feeds: tf.NamedTensorMap = {};
  for (const info of fromDir.inputs) feeds[info.name] = tf.zeros((info.shape ?? []).map((d) => (d === -1 ? 1 : d)), info.dtype as tf.DataType);
  const sync = () => tf.dispose(fromDir.execute(feeds) as tf.Tensor);
  if (expected) expect(sync).toThrow(/executeAsync/);
  else expect(sync).not.toThrow();
  tf.dispose(Object.values(feeds));
  fromDir.dispose();
  fromHandler.dispose();
});

test('a model loaded by tfjs itself is run with executeAsync, which runs any graph', async () => {
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(await readGraphModel(path.join(BLIP_SMALL, 'caption', 'vision')))));
  expect(needsExecuteAsync(model)).toBe(true);
  model.dispose();
});
