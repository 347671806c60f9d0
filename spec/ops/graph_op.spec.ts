// The graph ops: a hand-written model.json with TurboMerge / TurboPropAttnBias nodes (snake_case attrs
// as src/rewrite/pass.ts writes them), loaded with loadGraphModel after registerTurboOps(), must give
// exactly what turboMerge / proportionalAttentionBias give when called directly.
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { turboMerge, TurboMergeOptions } from '../../src/ops/turbo_merge';
import { proportionalAttentionBias } from '../../src/ops/prop_attn_bias';
import { registerTurboOps } from '../../src/ops/register';
import { useBackend } from '../../src/runtime/backend';
import { BACKENDS, PATHS, useKernelPath } from './helpers';

const N = 17;
const C = 8;
const D = 4;

type Attr = { i: string } | { f: number };

function placeholder(name: string, dims: number[]) {
  return {
    name,
    op: 'Placeholder',
    attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: dims.map((d) => ({ size: String(d) })) } } },
  };
}

/** x, metric, clsAttn (and size) placeholders → TurboMerge "merge" → TurboPropAttnBias on "merge:1". */
function topology(attr: Record<string, Attr>, withSize: boolean, batch = 1) {
  const inputs = ['x', 'metric', 'clsAttn', ...(withSize ? ['size'] : [])];
  return {
    node: [
      placeholder('x', [batch, N, C]),
      placeholder('metric', [batch, N, D]),
      placeholder('clsAttn', [batch, N]),
      ...(withSize ? [placeholder('size', [batch, N])] : []),
      { name: 'merge', op: 'TurboMerge', input: inputs, attr },
      { name: 'bias', op: 'TurboPropAttnBias', input: ['merge:1'] },
    ],
    versions: { producer: 1808 },
    library: {},
  };
}

async function load(attr: Record<string, Attr>, withSize: boolean, batch = 1): Promise<GraphModel> {
  const artifacts = { modelTopology: topology(attr, withSize, batch), format: 'graph-model', weightSpecs: [], weightData: new ArrayBuffer(0) };
  return loadGraphModel(tf.io.fromMemory(artifacts));
}

const OUTPUTS = ['merge', 'merge:1', 'merge:2', 'bias'];
const SEED = 3;

interface Outs {
  x: number[][][];
  size: number[][];
  assignment: number[][];
  bias: number[][][][];
}

function inputs(batch: number, seed: number, withSize: boolean): tf.NamedTensorMap {
  const map: tf.NamedTensorMap = {
    x: tf.randomNormal([batch, N, C], 0, 1, 'float32', seed),
    metric: tf.randomNormal([batch, N, D], 0, 1, 'float32', seed + 1),
    clsAttn: tf.randomUniform([batch, N], 0, 0.2, 'float32', seed + 2),
  };
  if (withSize) map.size = tf.floor(tf.randomUniform([batch, N], 1, 5, 'float32', seed + 3));
  return map;
}

function runGraph(model: GraphModel, feed: tf.NamedTensorMap): Outs {
  const [x, size, assignment, bias] = model.execute(feed, OUTPUTS) as tf.Tensor[];
  expect(assignment.dtype).toBe('int32');
  const out = {
    x: x.arraySync() as number[][][],
    size: size.arraySync() as number[][],
    assignment: assignment.arraySync() as number[][],
    bias: bias.arraySync() as number[][][][],
  };
  tf.dispose([x, size, assignment, bias]);
  return out;
}

function runDirect(feed: tf.NamedTensorMap, options: TurboMergeOptions): Outs {
  const res = turboMerge(feed.x, feed.metric, feed.clsAttn, feed.size ?? null, options);
  const bias = proportionalAttentionBias(res.size);
  const out = {
    x: res.x.arraySync(),
    size: res.size.arraySync(),
    assignment: res.assignment.arraySync(),
    bias: bias.arraySync(),
  };
  tf.dispose([res.x, res.size, res.assignment, bias]);
  return out;
}

// The attrs a converted model carries, and the same settings as turboMerge options.
type ScoreOptions = 'score' | 'merge' | 'margin' | 'tauSim' | 'tauInfo' | 'tauSize';
const VARIANTS: { name: string; attr: Record<string, Attr>; options: Required<Omit<TurboMergeOptions, ScoreOptions>> & Pick<TurboMergeOptions, ScoreOptions>; withSize: boolean; batch: number }[] = [
  {
    name: 'r 2, alpha 1, class token (the issue example)',
    attr: { r: { i: '2' }, alpha: { f: 1 }, beta: { f: 1 }, gamma: { f: 0 }, layer: { i: '0' }, protected_tokens: { i: '1' }, r_threshold: { i: '0' } },
    options: { r: 2, alpha: 1, beta: 1, gamma: 0, layer: 0, protectedTokens: 1, rThreshold: 0 },
    withSize: false,
    batch: 1,
  },
  {
    name: 'every attr away from its default, prior sizes, batch 2',
    attr: { r: { i: '4' }, alpha: { f: 0.1 }, beta: { f: 0.5 }, gamma: { f: 6 }, layer: { i: '5' }, protected_tokens: { i: '2' }, r_threshold: { i: '10' } },
    options: { r: 4, alpha: 0.1, beta: 0.5, gamma: 6, layer: 5, protectedTokens: 2, rThreshold: 10 },
    withSize: true,
    batch: 2,
  },
  {
    name: 'r_threshold above N: identity',
    attr: { r: { i: '4' }, alpha: { f: 5 }, beta: { f: 1 }, gamma: { f: 0 }, layer: { i: '0' }, protected_tokens: { i: '1' }, r_threshold: { i: '40' } },
    options: { r: 4, alpha: 5, beta: 1, gamma: 0, layer: 0, protectedTokens: 1, rThreshold: 40 },
    withSize: false,
    batch: 1,
  },
];

// turboMerge's defaults (r_threshold is covered by the third variant: at 0 the first two merge).
const DEFAULTS = { alpha: 5, beta: 1, gamma: 0, layer: 0, protectedTokens: 1 };

describe.each(BACKENDS)('%s backend', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
    registerTurboOps();
  });

  describe.each(PATHS)('%s kernels', (kernelPath) => {
    beforeAll(() => useKernelPath(kernelPath));
    afterAll(() => useKernelPath('fused'));

    test.each(VARIANTS.map((v) => [v.name, v] as const))('graph TurboMerge equals turboMerge: %s', async (_name, v) => {
      const model = await load(v.attr, v.withSize, v.batch);
      const feed = inputs(v.batch, SEED, v.withSize);
      const before = tf.memory().numTensors;
      const graph = runGraph(model, feed);
      expect(tf.memory().numTensors).toBe(before);
      const direct = runDirect(feed, v.options);
      expect(graph).toEqual(direct);
      const merged = v.options.rThreshold > N ? 0 : Math.min(v.options.r, Math.floor((N - v.options.protectedTokens) / 2));
      expect(graph.x[0]).toHaveLength(N - merged);
      expect(graph.bias.map((b) => b[0][0])).toEqual(graph.size.map((row) => row.map((s) => Math.fround(Math.log(s)))));
      tf.dispose(Object.values(feed));
      model.dispose();
    });
  });

  // Guards that the comparison above can see a lost attr: with these inputs, resetting any one
  // setting to the default turboMerge would use if the executor dropped it changes the result.
  test('each attr of the second variant matters for these inputs', () => {
    const v = VARIANTS[1];
    const feed = inputs(v.batch, SEED, v.withSize);
    const reference = runDirect(feed, v.options);
    for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
      const changed = runDirect(feed, { ...v.options, [key]: DEFAULTS[key] });
      expect({ key, same: JSON.stringify(changed) === JSON.stringify(reference) }).toEqual({ key, same: false });
    }
    tf.dispose(Object.values(feed));
  });

  test('a bad attr fails with a message naming it', async () => {
    const attr = { ...VARIANTS[0].attr, r: { i: '-1' } };
    const model = await load(attr, false);
    const feed = inputs(1, 3, false);
    expect(() => model.execute(feed, OUTPUTS)).toThrow(/turboMerge: r: -1 is negative/);
    tf.dispose(Object.values(feed));
    model.dispose();
  });
});
