// --portable: the Turbo ops replaced by standard TensorFlow ops (src/rewrite/portable_merge.ts), checked
// against the official Turbo outputs: the 12 merge cases through a one-op graph, and the real
// ViT-Tiny in all 9 official configurations. Runs in tfjs without registerTurboOps, which proves
// no custom op is left.

import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { embeddedModelDir, rewriteGraph } from '../../src/convert';
import { Graph, floatAttr, intAttr } from '../../src/graph/ir';
import { graphToArtifacts, readGraphModel } from '../../src/graph/model_io';
import { replaceTurboOpsWithStandardOps } from '../../src/rewrite/portable_merge';
import { stripTurbo } from '../../src/rewrite/strip';
import { useBackend } from '../../src/runtime/backend';
import { runInNode } from '../helpers/node_child';
import { argmaxRows, loadVitTinyParity, maxAbsDiff as maxDiff, toOptions } from '../helpers/parity';
import { TurboRunJson } from '../helpers/run_turbo_child';
import { BACKENDS, firstRowMismatch, loadMergeCases, maxAbsDiff } from '../ops/helpers';

const CASES = loadMergeCases();
const TOL = 1e-5;

/** A graph holding one TurboMerge on placeholders, replaced by standard ops. */
function loweredMergeGraph(c: (typeof CASES)[number]): Graph {
  const g = new Graph({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }, []);
  const ph = (name: string) => g.addNode({ name, op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' } } }).name;
  const inputs = [ph('x'), ph('metric'), ph('cls'), ...(c.size ? [ph('size')] : [])];
  g.addNode({
    name: 'merge',
    op: 'TurboMerge',
    input: inputs,
    attr: {
      r: intAttr(c.r),
      alpha: floatAttr(c.alpha),
      beta: floatAttr(c.beta),
      gamma: floatAttr(c.gamma),
      layer: intAttr(c.layer),
      protected_tokens: intAttr(c.classToken ? 1 : 0),
      r_threshold: intAttr(c.rThreshold),
    },
  });
  g.addNode({ name: 'x_out', op: 'Identity', input: ['merge'], attr: { T: { type: 'DT_FLOAT' } } });
  g.addNode({ name: 'size_out', op: 'Identity', input: ['merge:1'], attr: { T: { type: 'DT_FLOAT' } } });
  const report = replaceTurboOpsWithStandardOps(g, new Map([['merge', c.N]]));
  if (report.merges !== 1) throw new Error('the merge was not replaced');
  g.topoSort();
  return g;
}

describe.each(BACKENDS)('%s backend', (backend) => {
  beforeAll(() => useBackend(backend));

  test.each(CASES.map((c, i) => [`#${i} B${c.B} N${c.N} r=${c.r} alpha=${c.alpha}${c.classToken ? '' : ' no class token'}${c.size ? ' sizes' : ''}`, c] as const))(
    'official merge case %s',
    async (_name, c) => {
      const g = loweredMergeGraph(c);
      expect(g.nodes.filter((n) => n.op.startsWith('Turbo'))).toEqual([]);
      const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(g)));
      const feeds: tf.NamedTensorMap = { x: tf.tensor3d(c.x), metric: tf.tensor3d(c.metric), cls: tf.tensor2d(c.attnCls) };
      if (c.size) feeds.size = tf.tensor2d(c.size);
      const [x, size] = model.execute(feeds, ['x_out', 'size_out']) as tf.Tensor[];
      expect(firstRowMismatch(x.arraySync() as number[][][], c.expectedX, TOL)).toBeNull();
      expect(maxAbsDiff((size.arraySync() as number[][]).flat(), c.expectedSize.flat())).toBeLessThan(TOL);
      tf.dispose([x, size, ...Object.values(feeds)]);
    },
  );
});

describe('ViT-Tiny with --portable vs official Turbo (wasm)', () => {
  const parity = loadVitTinyParity();
  const child = path.join(__dirname, '..', 'helpers', 'run_turbo_child.ts');
  test.each(parity.results.map((r) => [JSON.stringify(r.config), r] as const))('%s', async (_name, expected) => {
    const run = await runInNode<TurboRunJson>(child, 'runParityModel', ['wasm', embeddedModelDir(), { ...toOptions(expected.config), portable: true }]);
    expect(run.tokens).toEqual(expected.tokensAfterEachBlock);
    expect(maxDiff(run.output, expected.logits.flat())).toBeLessThan(2e-3);
    expect(argmaxRows(run.output, 1000)).toEqual(expected.top1);
  });

  test('no Turbo op is left, and the model loads without registerTurboOps', async () => {
    const g = await readGraphModel(embeddedModelDir());
    rewriteGraph(g, { ...toOptions({ r: 16, alpha: 5 }), portable: true });
    expect(g.nodes.filter((n) => n.op.startsWith('Turbo'))).toEqual([]);
    await useBackend('wasm');
    const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(g)));
    const y = model.execute({ pixel_values: tf.zeros([1, 3, 224, 224]) }, 'logits') as tf.Tensor;
    expect(y.shape).toEqual([1, 1000]);
  });
});

test('--strip restores the original from a portable model', async () => {
  const original = await readGraphModel(embeddedModelDir());
  const g = await readGraphModel(embeddedModelDir());
  rewriteGraph(g, { ...toOptions({ r: 8, alpha: 5 }), portable: true });
  stripTurbo(g, 'model.json');
  const byName = (x: Graph) => Object.fromEntries(x.nodes.map((n) => [n.name, n]));
  expect(byName(g)).toEqual(byName(original));
  expect([...g.weights.keys()].sort()).toEqual([...original.weights.keys()].sort());
});
