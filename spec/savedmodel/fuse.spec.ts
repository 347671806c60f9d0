// The SavedModel writer's fuse pass (src/savedmodel/fuse.ts) without TensorFlow: which subgraphs
// it rewrites in the ViT-Tiny graphs, what it writes instead, and what it leaves alone. Whether
// TensorFlow runs the result (and to what precision) is checked in vit_tiny_savedmodel.spec.ts,
// vit_tiny_turbo_savedmodel.spec.ts and python_savedmodel.spec.ts, which write fused by default.
import * as path from 'path';
import { embeddedModelDir, rewriteGraph } from '../../src/convert';
import { Graph, decodeWeight } from '../../src/graph/ir';
import { readGraphModel } from '../../src/graph/model_io';
import { NodeDef, StoredWeight } from '../../src/graph/types';
import { FuseOptions, fuseForTensorFlow } from '../../src/savedmodel/fuse';
import { toGraphDef } from '../../src/savedmodel/graphdef';
import { splitFusedOps } from '../../src/savedmodel/split_fused';

const TFJS_CONVERTER_MODEL = path.join(embeddedModelDir(), '..', 'vit-tiny-patch16-224-tfjs-converter');

/** The writer's passes on a copy of `graph`: fused ops split, then the fusions; the copy and what they did. */
function fused(graph: Graph, opts?: FuseOptions) {
  const g = graph.copy();
  splitFusedOps(g, 'model.json');
  return { ...fuseForTensorFlow(g, opts), nodes: g.nodes };
}

function split(graph: Graph): readonly NodeDef[] {
  const g = graph.copy();
  splitFusedOps(g, 'model.json');
  return g.nodes;
}

const opCounts = (nodes: readonly NodeDef[]) => nodes.reduce<Record<string, number>>((m, n) => ((m[n.op] = (m[n.op] ?? 0) + 1), m), {});

describe('on ViT-Tiny', () => {
  test.each([
    ['unmerged', false],
    ['Turbo r = 13', true],
  ])('%s: 25 LayerNorms, 12 GELUs and 12 q/k/v triples rewritten; nothing else changes', async (_name, turbo) => {
    const graph = await readGraphModel(embeddedModelDir());
    if (turbo) rewriteGraph(graph, { r: 13, alpha: 1, beta: 1, gamma: 0, rThreshold: 0, propAttn: true });
    const r = fused(graph);
    expect([r.layerNorms, r.gelus, r.qkv]).toEqual([25, 12, 12]);
    const ops = opCounts(r.nodes);
    expect(ops._MklLayerNorm).toBe(25);
    expect(ops.Rsqrt ?? 0).toBe(0);
    expect(ops.SquaredDifference ?? 0).toBe(0);
    // Dense layers: 73 before (qkv x 36, out x 12, fc1 x 12, fc2 x 12, head): 24 fewer, fc1 split for the remapper.
    expect(ops._FusedMatMul).toBe(73 - 24 - 12);
    expect(ops.MatMul).toBe(12);
    expect(ops.BiasAdd).toBe(12);
    expect(ops.Erf).toBe(12);
    expect(ops.Split).toBe(12);
    expect(ops.Squeeze).toBe(36);
    expect(ops.TurboMerge ?? 0).toBe(turbo ? 12 : 0);
    // Every input names a node that exists, and names stay unique.
    const names = new Set(r.nodes.map((n) => n.name));
    expect(names.size).toBe(r.nodes.length);
    const dangling = r.nodes.flatMap((n) => (n.input ?? []).map((i) => i.replace(/^\^/, '').replace(/:\d+$/, ''))).filter((i) => !names.has(i));
    expect(dangling).toEqual([]);
    // Each subgraph's last node keeps its name, so consumers outside it are unchanged.
    for (const name of ['vit/encoder/layer_0/norm1/batchnorm/add_1', 'vit/encoder/layer_0/mlp/gelu/mul_1', 'vit/encoder/layer_0/attention/transpose_1']) expect(names.has(name)).toBe(true);
    const byName = new Map(r.nodes.map((n) => [n.name, n]));
    expect(byName.get('vit/encoder/layer_0/norm1/batchnorm/add_1')!.op).toBe('_MklLayerNorm');
    expect(byName.get('vit/encoder/layer_0/norm1/batchnorm/add_1')!.attr!.epsilon.f).toBeCloseTo(1e-6, 12);
    expect(byName.get('vit/encoder/layer_0/attention/transpose_1')!.op).toBe('Squeeze');
  });

  test('the fused q/k/v kernel is [Wq | Wk | Wv] column blocks and the separate kernels are dropped', async () => {
    const graph = await readGraphModel(embeddedModelDir());
    const r = fused(graph);
    const names = new Set(r.nodes.map((n) => n.name));
    for (const p of ['query', 'key', 'value']) expect(names.has(`vit/encoder/layer_0/attention/${p}/kernel`)).toBe(false);
    const kernel = r.nodes.find((n) => n.name === 'vit/encoder/layer_0/attention/qkv_fused/kernel')!;
    const tensor = kernel.attr!.value.tensor as unknown as { tensorShape: { dim: { size: string }[] }; tensorContent: Uint8Array };
    expect(tensor.tensorShape.dim.map((d) => Number(d.size))).toEqual([192, 576]);
    const fusedW = new Float32Array(tensor.tensorContent.buffer.slice(tensor.tensorContent.byteOffset, tensor.tensorContent.byteOffset + tensor.tensorContent.byteLength));
    ['query', 'key', 'value'].forEach((p, k) => {
      const w = decodeWeight(graph.weights.get(`vit/encoder/layer_0/attention/${p}/kernel`)!);
      for (const row of [0, 77, 191]) expect(Array.from(fusedW.subarray(row * 576 + k * 192, row * 576 + (k + 1) * 192))).toEqual(Array.from(w.subarray(row * 192, (row + 1) * 192)));
    });
    // The Split feeds three Squeezes in order q, k, v, named as the Transposes they replace.
    const split = r.nodes.find((n) => n.op === 'Split' && n.name.startsWith('vit/encoder/layer_0/'))!;
    const squeezes = ['transpose', 'transpose_1', 'transpose_2'].map((t) => r.nodes.find((n) => n.name === `vit/encoder/layer_0/attention/${t}`)!);
    expect(squeezes.map((n) => n.input)).toEqual([[split.name], [`${split.name}:1`], [`${split.name}:2`]]);
  });

  test('tensorflowjs_converter ViT-Tiny: the 25 LayerNorms (mean over axis 2 of a rank-3 tensor) are rewritten', async () => {
    const graph = await readGraphModel(TFJS_CONVERTER_MODEL);
    const r = fused(graph);
    expect(r.layerNorms).toBe(25);
  });

  test('fuse: false writes the lowered ops unchanged; options turn single rewrites off', async () => {
    const graph = await readGraphModel(embeddedModelDir());
    const plain = toGraphDef(graph, 'model.json', false).node.map((n) => n.op);
    expect(plain).toEqual(split(graph).map((n) => n.op));
    const r = fused(graph, { qkv: false, gelu: false });
    expect([r.layerNorms, r.gelus, r.qkv]).toEqual([25, 0, 0]);
  });
});

describe('left alone', () => {
  const c = (name: string, value: number[], shape: number[], dtype = 'DT_FLOAT'): NodeDef => ({ name, op: 'Const', attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: { dim: shape.map((s) => ({ size: String(s) })) } } } } });
  const values: Record<string, number[]> = { axis: [-1], axis2: [2], eps: [1e-6], gamma: [1, 2], beta: [3, 4] };
  /** A graph of `nodes` whose constants hold `values`. */
  const graphOf = (nodes: NodeDef[]): Graph => {
    const weights: StoredWeight[] = nodes
      .filter((n) => n.op === 'Const')
      .map((n) => {
        const data = n.name.startsWith('axis') ? Int32Array.from(values[n.name]) : Float32Array.from(values[n.name]);
        const shape = (n.attr!.value.tensor as { tensorShape: { dim: { size: string }[] } }).tensorShape.dim.map((d) => Number(d.size));
        return { spec: { name: n.name, shape, dtype: data instanceof Int32Array ? 'int32' : 'float32' }, bytes: new Uint8Array(data.buffer) };
      });
    return new Graph({ format: 'graph-model', modelTopology: { node: nodes }, weightsManifest: [] }, weights);
  };
  const fuse = (nodes: NodeDef[]) => {
    const g = graphOf(nodes);
    return { ...fuseForTensorFlow(g), nodes: g.nodes };
  };
  const T = { T: { type: 'DT_FLOAT' } };
  const layerNorm = (x: string, axis: string): NodeDef[] => [
    c('axis', [-1], [1], 'DT_INT32'),
    c('axis2', [2], [1], 'DT_INT32'),
    c('eps', [1e-6], []),
    c('gamma', [1, 2], [2]),
    c('beta', [3, 4], [2]),
    { name: 'mean', op: 'Mean', input: [x, axis], attr: { ...T, keep_dims: { b: true } } },
    { name: 'sqd', op: 'SquaredDifference', input: [x, 'mean'], attr: T },
    { name: 'var', op: 'Mean', input: ['sqd', axis], attr: { ...T, keep_dims: { b: true } } },
    { name: 'add', op: 'AddV2', input: ['var', 'eps'], attr: T },
    { name: 'rsqrt', op: 'Rsqrt', input: ['add'], attr: T },
    { name: 'mul', op: 'Mul', input: ['rsqrt', 'gamma'], attr: T },
    { name: 'mul_2', op: 'Mul', input: ['mean', 'mul'], attr: T },
    { name: 'mul_1', op: 'Mul', input: [x, 'mul'], attr: T },
    { name: 'sub', op: 'Sub', input: ['beta', 'mul_2'], attr: T },
    { name: 'out', op: 'AddV2', input: ['mul_1', 'sub'], attr: T },
  ];
  const x: NodeDef = { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '5' }, { size: '2' }] } } } };
  const x4: NodeDef = { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '5' }, { size: '2' }, { size: '2' }] } } } };
  const unknown: NodeDef = { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { unknownRank: true } } } };

  test('a LayerNorm over the last axis (-1, or 2 of a rank-3 input) becomes _MklLayerNorm(x, gamma, beta)', () => {
    for (const [axis, unused] of [
      ['axis', 'axis2'],
      ['axis2', 'axis'],
    ]) {
      const r = fuse([x, ...layerNorm('x', axis)]);
      expect(r.layerNorms).toBe(1);
      const out = r.nodes.find((n) => n.name === 'out')!;
      expect(out).toEqual({ name: 'out', op: '_MklLayerNorm', input: ['x', 'gamma', 'beta'], attr: { T: { type: 'DT_FLOAT' }, epsilon: { f: Math.fround(1e-6) } } });
      // The moments' constants go with them (a constant nothing read before stays); x, gamma and beta stay.
      expect(r.nodes.map((n) => n.name).sort()).toEqual(['beta', 'gamma', 'out', unused, 'x'].sort());
    }
  });

  test('not over the last axis (axis 2 of a rank-4 or unknown-rank input), or an intermediate read elsewhere', () => {
    expect(fuse([x4, ...layerNorm('x', 'axis2')]).layerNorms).toBe(0);
    expect(fuse([unknown, ...layerNorm('x', 'axis2')]).layerNorms).toBe(0);
    const reader: NodeDef = { name: 'reads_variance', op: 'Identity', input: ['var'], attr: T };
    const r = fuse([x, ...layerNorm('x', 'axis'), reader]);
    expect(r.layerNorms).toBe(0);
    expect(r.nodes).toHaveLength(17);
  });

  test('a LayerNorm whose gamma is not a [C] vector is left alone, and the report says why', () => {
    const nodes = [x, ...layerNorm('x', 'axis')].map((n) => (n.name === 'gamma' ? c('gamma', [1, 2], [1, 2]) : n));
    const r = fuse(nodes);
    expect(r.layerNorms).toBe(0);
    expect(r.missed).toEqual(['LayerNorm at out: gamma and beta are not constant [C] vectors']);
  });
});

test("toGraphDef rewrites a copy: the caller's graph keeps its nodes", async () => {
  const graph = await readGraphModel(embeddedModelDir());
  const before = graph.nodes.map((n) => JSON.stringify(n));
  const written = toGraphDef(graph, 'model.json');
  expect(written.node.length).toBeLessThan(before.length);
  expect(graph.nodes.map((n) => JSON.stringify(n))).toEqual(before);
});
