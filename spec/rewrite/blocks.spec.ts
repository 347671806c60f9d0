// The structural block search (rewrite/blocks.ts) on real converter graphs: every block found in
// execution order with its parts, each named pattern variant matched and (on an edited copy of a
// real graph) mismatched, and each rejection reason.

import * as path from 'path';
import { embeddedModelDir } from '../../src/convert';
import { Graph, dataInputs, parseRef } from '../../src/graph/ir';
import { describeFailures, isFailure, matchChildPath, matchVariants } from '../../src/graph/match';
import { readGraphModel } from '../../src/graph/model_io';
import { TfBuilder } from '../../src/graph/tf_builder';
import { KEYS, blockRegion, findAttentionBlocks, mlpNodes, residualPattern } from '../../src/rewrite/blocks';
import { HF_FIXTURES } from '../hf/hf_fixture';

const MODELS: [string, string, number][] = [
  ['vit-small', path.join(HF_FIXTURES, 'vit-small'), 4],
  ['deit-small', path.join(HF_FIXTURES, 'deit-small'), 4],
  ['clip-small', path.join(HF_FIXTURES, 'clip-small'), 4],
  ['blip-small', path.join(HF_FIXTURES, 'blip-small'), 4],
  ['vit-tiny (ours)', embeddedModelDir(), 12],
];
const vitSmall = () => readGraphModel(path.join(HF_FIXTURES, 'vit-small'));

describe.each(MODELS)('%s', (_name, dir, count) => {
  let g: Graph;
  beforeAll(async () => (g = await readGraphModel(dir)));

  test('every Softmax is a block, found in execution order, with its parts wired as expected', () => {
    const report = findAttentionBlocks(g);
    expect(report.softmaxCount).toBe(count);
    expect(report.rejected).toEqual([]);
    const blocks = report.blocks;
    expect(blocks.map((b) => b.index)).toEqual([...Array(count).keys()]);
    blocks.forEach((b, i) => {
      expect(b.qk.op).toBe('BatchMatMulV2');
      expect(b.softmax.op).toBe('Softmax');
      expect(dataInputs(b.softmax)[0]).toBe(b.logitsRef);
      expect(parseRef(dataInputs(b.pv)[0]).node).toBe(b.softmax.name);
      expect(dataInputs(b.attnResidual)).toContain(b.blockInputRef);
      expect(dataInputs(b.mlpResidual)).toContain(b.attnResidual.name);
      if (i > 0) expect(parseRef(b.blockInputRef).node).toBe(blocks[i - 1].mlpResidual.name);
      const down = matchChildPath(g, b.pv, residualPattern(new Set([parseRef(b.blockInputRef).node])));
      if (isFailure(down)) throw new Error(`${down.step}: ${down.reason}`);
      expect(down.nodes[down.nodes.length - 1]).toBe(b.attnResidual);
      expect(down.nodes[0].op).toBe('Transpose'); // heads back to [B, N, H, d]
      const keys = matchVariants(g, b.qk, 1, KEYS);
      if (Array.isArray(keys)) throw new Error(describeFailures(keys));
      expect(keys.pattern).toBe('keys read with adj_y');
    });
  });

  test('the MLP of a block holds its two dense layers and none of the attention', () => {
    const blocks = findAttentionBlocks(g).blocks;
    for (const b of blocks) {
      const mlp = mlpNodes(g, b);
      const names = new Set(mlp.map((n) => n.name));
      expect(mlp.filter((n) => n.op === 'MatMul' || n.op === '_FusedMatMul')).toHaveLength(2);
      for (const n of [b.qk, b.softmax, b.pv, b.attnResidual]) expect(names.has(n.name)).toBe(false);
      expect(names.has(b.mlpResidual.name)).toBe(true);
    }
  });

  test('the block region spans the blocks, not the embeddings or the head', () => {
    const blocks = findAttentionBlocks(g).blocks;
    const region = blockRegion(g, blocks);
    for (const b of blocks) for (const n of [b.qk, b.softmax, b.pv, b.attnResidual, b.mlpResidual]) expect(region.has(n.name)).toBe(true);
    expect(region.has(parseRef(blocks[0].blockInputRef).node)).toBe(false);
    expect([...region].some((n) => g.node(n).op === 'Placeholder' || g.node(n).op === 'Const')).toBe(false);
    const outputs = g.outputNames().map((o) => parseRef(o).node);
    for (const o of outputs) expect(region.has(o)).toBe(false);
  });
});

describe('keys variants on an edited real graph (vit-small, block 0)', () => {
  /** Block 0's Q·Kᵀ reads Transpose(k, perm) with adj_y off instead of k with adj_y on. */
  async function explicitTranspose(perm: number[]) {
    const g = await vitSmall();
    const qk = findAttentionBlocks(g).blocks[0].qk;
    const k = qk.input![1];
    const t = new TfBuilder(g).transpose('edited/kt', k, perm);
    g.setInput(qk, 1, t);
    qk.attr!.adj_y = { b: false };
    return { g, qk, k };
  }
  test("'keys as Transpose(k, [0, 1, 3, 2])' matches and gives the same keys", async () => {
    const { g, qk, k } = await explicitTranspose([0, 1, 3, 2]);
    const m = matchVariants(g, qk, 1, KEYS);
    if (Array.isArray(m)) throw new Error(describeFailures(m));
    expect(m.pattern).toBe('keys as Transpose(k, [0, 1, 3, 2])');
    expect(m.end).toBe(k);
    expect(findAttentionBlocks(g).blocks[0].keysRef).toBe(k);
  });
  test('another permutation: both variants fail, each says where', async () => {
    const { g, qk } = await explicitTranspose([0, 2, 1, 3]);
    const m = matchVariants(g, qk, 1, KEYS);
    expect(Array.isArray(m) && describeFailures(m)).toBe(
      "keys read with adj_y: at start, adj_y is false; keys as Transpose(k, [0, 1, 3, 2]): at Transpose [0, 1, 3, 2], Transpose 'edited/kt' has perm [0,2,1,3]",
    );
    const report = findAttentionBlocks(g);
    expect(report.blocks).toHaveLength(3);
    expect(report.rejected[0]).toMatch(/does not read keys as \[B, H, N, d\] \(keys read with adj_y: at start, adj_y is false; /);
  });
});

describe('rejections on an edited real graph (vit-small, block 0)', () => {
  test('a Relu between the logits and the Softmax: no Q·Kᵀ above it', async () => {
    const g = await vitSmall();
    const softmax = findAttentionBlocks(g).blocks[0].softmax;
    g.setInput(softmax, 0, new TfBuilder(g).node('edited/relu', 'Relu', [softmax.input![0]], { T: { type: 'DT_FLOAT' } }));
    const report = findAttentionBlocks(g);
    expect(report.blocks).toHaveLength(3);
    expect(report.rejected).toEqual([`${softmax.name}: no BatchMatMul(q, kᵀ) above the Softmax`]);
  });
  test('P·V read twice on the way to the residual: no residual Add', async () => {
    const g = await vitSmall();
    const { pv } = findAttentionBlocks(g).blocks[0];
    const after = g.consumerNodes(pv.name)[0];
    new TfBuilder(g).unary('edited/tap', 'Identity', after.name);
    expect(findAttentionBlocks(g).rejected[0]).toMatch(/: no residual Add after P·V '.*' \(at residual Add, '.*' has 2 consumers\)$/);
  });
  test('an op outside the projection set below P·V: the pattern names the step and the op', async () => {
    const g = await vitSmall();
    const { pv } = findAttentionBlocks(g).blocks[0];
    g.consumerNodes(pv.name)[0].op = 'Relu';
    expect(findAttentionBlocks(g).rejected[0]).toMatch(/: no residual Add after P·V '.*' \(at residual Add, found Relu '.*'\)$/);
  });
  test('no Add after the attention residual: no MLP residual', async () => {
    const g = await vitSmall();
    const { mlpResidual } = findAttentionBlocks(g).blocks[3];
    mlpResidual.op = 'Sub';
    expect(findAttentionBlocks(g).rejected[0]).toMatch(/: attention residual '.*' is not followed by an MLP residual Add$/);
  });
});
