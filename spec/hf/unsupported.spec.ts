// Graphs that are not vision transformers are refused with a one-line TurboInputError that says
// what was found and what was expected, and nothing is written.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { convertWithTurbo, rewriteGraph } from '../../src/convert';
import { TurboInputError } from '../../src/errors';
import { Graph } from '../../src/graph/ir';
import { readGraphModel, writeGraphModel } from '../../src/graph/model_io';
import { ModelJson, NodeDef, StoredWeight } from '../../src/graph/types';
import { RewriteOptions } from '../../src/rewrite/pass';
import { HF_FIXTURES } from './hf_fixture';

const OPTIONS: RewriteOptions = { r: 16, alpha: 5, beta: 1, gamma: 0, rThreshold: 0, propAttn: true };
const F32 = { type: 'DT_FLOAT' };

function constant(name: string, shape: number[], dtype: 'float32' | 'int32', values?: number[]): { node: NodeDef; weight: StoredWeight } {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'int32' ? Int32Array.from(values ?? new Array(size).fill(0)) : Float32Array.from(values ?? new Array(size).fill(0.01));
  return {
    node: {
      name,
      op: 'Const',
      attr: {
        value: { tensor: { dtype: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) } } },
        dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' },
      },
    },
    weight: { spec: { name, shape, dtype }, bytes: new Uint8Array(data.buffer) },
  };
}

/** image [-1, 8, 8, 3] -> Conv2D -> Relu -> Mean over H, W -> MatMul -> [-1, 10] (+ optional Softmax). */
function smallCnn(withSoftmax = false): Graph {
  const consts = [
    constant('conv/filter', [3, 3, 3, 4], 'float32'),
    constant('pool/axes', [2], 'int32', [1, 2]),
    constant('fc/kernel', [4, 10], 'float32'),
  ];
  const nodes: NodeDef[] = [
    { name: 'image', op: 'Placeholder', attr: { dtype: F32, shape: { shape: { dim: [-1, 8, 8, 3].map((s) => ({ size: String(s) })) } } } },
    ...consts.map((c) => c.node),
    {
      name: 'conv',
      op: 'Conv2D',
      input: ['image', 'conv/filter'],
      attr: {
        T: F32,
        strides: { list: { i: ['1', '1', '1', '1'] } },
        padding: { s: Buffer.from('VALID').toString('base64') },
        data_format: { s: Buffer.from('NHWC').toString('base64') },
      },
    },
    { name: 'relu', op: 'Relu', input: ['conv'], attr: { T: F32 } },
    { name: 'pool', op: 'Mean', input: ['relu', 'pool/axes'], attr: { T: F32, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
    { name: 'logits', op: 'MatMul', input: ['pool', 'fc/kernel'], attr: { T: F32, transpose_a: { b: false }, transpose_b: { b: false } } },
  ];
  if (withSoftmax) nodes.push({ name: 'probs', op: 'Softmax', input: ['logits'], attr: { T: F32 } });
  const json: ModelJson = {
    format: 'graph-model',
    generatedBy: '2.19.0',
    convertedBy: 'spec/hf/unsupported.spec.ts',
    modelTopology: { node: nodes, library: {}, versions: {} },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: consts.map((c) => c.weight.spec) }],
  };
  return new Graph(json, consts.map((c) => c.weight));
}

function refusal(run: () => unknown): TurboInputError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(TurboInputError);
    return e as TurboInputError;
  }
  throw new Error('expected a TurboInputError');
}

test('a CNN (Conv2D → Relu → Mean → MatMul): no transformer blocks, says what it found and expected', () => {
  const e = refusal(() => rewriteGraph(smallCnn(), OPTIONS, 'cnn/model.json'));
  expect(e.message).not.toContain('\n');
  expect(e.message).toMatch(/^cnn\/model\.json: no transformer blocks found: no Softmax at all/);
  for (const op of ['Conv2D ×1', 'Relu ×1', 'Mean ×1', 'MatMul ×1']) expect(e.message).toContain(op);
  expect(e.message).toContain('expected BatchMatMul(q, kᵀ) → Softmax → BatchMatMul(·, v)');
});

test('a CNN classifier ending in Softmax: the Softmax is named with the reason it is no attention', () => {
  const e = refusal(() => rewriteGraph(smallCnn(true), OPTIONS, 'cnn/model.json'));
  expect(e.message).toContain('1 Softmax node(s), none in a block (probs: no BatchMatMul(q, kᵀ) above the Softmax)');
  expect(e.message).toContain('Conv2D ×1');
});

test('convertWithTurbo on a CNN directory fails before writing anything', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-cnn-'));
  try {
    const inDir = path.join(tmp, 'cnn');
    await writeGraphModel(smallCnn(), inDir);
    const out = path.join(tmp, 'out');
    await expect(convertWithTurbo(inDir, out, OPTIONS)).rejects.toThrow(
      new RegExp(`^${path.join(inDir, 'model.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no transformer blocks found`),
    );
    expect(fs.existsSync(out)).toBe(false);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a transformer forced to the wrong family says which check failed', async () => {
  const graph = await readGraphModel(path.join(HF_FIXTURES, 'vit-small'));
  const e = refusal(() => rewriteGraph(graph, { ...OPTIONS, architecture: 'blip' }));
  expect(e.message).toContain('found 4 attention block(s) but no known architecture fits (blip: keys are not sliced from a fused qkv projection)');
});
