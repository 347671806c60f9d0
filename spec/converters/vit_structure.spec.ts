// The emitted graph has the converter's op patterns and the Turbo rewriter accepts it.

import * as fs from 'fs';
import * as path from 'path';
import { CONVERTER_NAME } from '../../converters/vit';
import { Graph, dataInputs } from '../../src/graph/ir';
import { readGraphModel } from '../../src/graph/model_io';
import { planTurbo } from '../../src/rewrite/pass';
import { opCounts } from './helpers';

const MODEL_DIR = path.resolve(__dirname, '..', '..', 'models', 'vit-tiny-patch16-224');

let graph: Graph;
beforeAll(async () => {
  graph = await readGraphModel(MODEL_DIR);
});

test('model.json header and signature', () => {
  const j = graph.modelJson;
  expect(j.format).toBe('graph-model');
  expect(j.convertedBy).toBe(CONVERTER_NAME);
  expect(j.signature).toEqual({
    inputs: { pixel_values: { name: 'pixel_values:0', dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '-1' }, { size: '3' }, { size: '224' }, { size: '224' }] } } },
    outputs: { logits: { name: 'Identity:0', dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '-1' }, { size: '1000' }] } } },
  });
  expect(graph.node('pixel_values').op).toBe('Placeholder');
  expect(graph.node('Identity').op).toBe('Identity');
  // Shards as tensorflowjs_converter cuts them.
  expect(j.weightsManifest[0].paths).toEqual(fs.readdirSync(MODEL_DIR).filter((f) => f.endsWith('.bin')).sort());
});

test('every constant is a weight with a dtype attr', () => {
  const consts = graph.nodes.filter((n) => n.op === 'Const');
  expect(consts.length).toBe(graph.weights.size);
  for (const c of consts) {
    expect(graph.weights.has(c.name)).toBe(true);
    expect(c.attr?.dtype?.type).toMatch(/^DT_(FLOAT|INT32)$/);
  }
});

test('op histogram: 2 BatchMatMulV2 per block, dense layers as 2-D matmuls, unfused LayerNorm', () => {
  const ops = opCounts(graph);
  expect(ops).toMatchObject({
    BatchMatMulV2: 2 * 12,
    _FusedMatMul: 6 * 12 + 1,
    Softmax: 12,
    Erf: 12,
    Rsqrt: 2 * 12 + 1,
    SquaredDifference: 2 * 12 + 1,
    Mean: 2 * (2 * 12 + 1),
    _FusedConv2D: 1,
    Tile: 1,
    Placeholder: 1,
    Identity: 1,
  });
  expect(ops.MatMul).toBeUndefined();
  expect(ops.Einsum).toBeUndefined();
  for (const mm of graph.nodes.filter((n) => n.op === 'BatchMatMulV2')) {
    expect(graph.inputNode(mm, 0)?.op === 'Transpose' || graph.inputNode(mm, 0)?.op === 'Softmax').toBe(true);
  }
});

test('Reshape targets are constants [-1, N, ...] with the static token count', () => {
  const targets = graph.nodes.filter((n) => n.op === 'Reshape').map((n) => Array.from(graph.constValues(dataInputs(n)[1])!));
  const rank3 = targets.filter((t) => t.length >= 3);
  expect(targets.every((t) => t[0] === -1)).toBe(true);
  // The patch Reshape has the patch count; every other one the token count.
  expect(rank3.filter((t) => t[1] === 196)).toEqual([[-1, 196, 192]]);
  expect(rank3.filter((t) => t[1] !== 196).every((t) => t[1] === 197)).toBe(true);
});

test('the Turbo rewriter finds 12 ViT blocks and 197 tokens', () => {
  const plan = planTurbo(graph, { r: 16, rThreshold: 0 });
  expect(plan.blocks).toHaveLength(12);
  expect(plan.architecture).toBe('vit');
  expect(plan.tokenCount).toBe(197);
  expect(plan.protectedTokens).toBe(1);
  expect(plan.inputRef).toBe('pixel_values');
  expect(plan.blocks[0].blockInputRef).toBe('vit/embeddings/add');
  expect(plan.blocks[11].mlpResidual.name).toBe('vit/encoder/layer_11/output/add');
});
