// Static token counts made dynamic (rewrite/shapes.ts), on real converter graphs: our converter's
// constant Reshape targets [-1, N, ...], HF BLIP's Pack(batch, N, ...) targets (with and without
// the shards), a blocked Pack, and signature outputs [-1, N, C].

import * as path from 'path';
import { embeddedModelDir } from '../../src/convert';
import { Graph, dataInputs } from '../../src/graph/ir';
import { readGraphModel, readModelJsonOnly } from '../../src/graph/model_io';
import { blockRegion, findAttentionBlocks } from '../../src/rewrite/blocks';
import {
  makePackedTokenAxesDynamic,
  makeSignatureTokensDynamic,
  makeTokenCountDynamic,
  packedTokenAxes,
  staticSignatureOutputs,
  staticTokenReshapes,
  tokenPath,
} from '../../src/rewrite/shapes';
import { HF_FIXTURES } from '../hf/hf_fixture';

const BLIP = path.join(HF_FIXTURES, 'blip-small');
const input = (g: Graph) => g.nodes.find((n) => n.op === 'Placeholder')!.name;

describe('constant Reshape targets [-1, N, ...] (our converter, ViT-Tiny)', () => {
  test('every one becomes Concat(batch, [-1, ...rest]); equal targets share one vector', async () => {
    const g = await readGraphModel(embeddedModelDir());
    const path = tokenPath(g, findAttentionBlocks(g).blocks);
    const before = staticTokenReshapes(g, 197, path);
    expect(before.length).toBeGreaterThan(0);
    const rests = new Set(before.map((r) => Array.from(g.constValues(dataInputs(g.node(r))[1])!.slice(2)).join()));
    const report = makeTokenCountDynamic(g, 197, input(g), path);
    expect(report.reshapes).toEqual(before);
    expect(staticTokenReshapes(g, 197, path)).toEqual([]);
    const targets = new Set(report.reshapes.map((r) => dataInputs(g.node(r))[1]));
    expect(targets.size).toBe(rests.size);
    for (const t of targets) {
      const concat = g.node(t);
      expect(concat.op).toBe('ConcatV2');
      const [batch, tail, axis] = dataInputs(concat);
      expect(g.node(batch).op).toBe('StridedSlice');
      expect(g.node(dataInputs(g.node(batch))[0]).op).toBe('Shape');
      expect(dataInputs(g.node(dataInputs(g.node(batch))[0]))[0]).toBe(input(g));
      expect(g.constValues(tail)![0]).toBe(-1);
      expect(Array.from(g.constValues(axis)!)).toEqual([0]);
    }
    // One batch-size vector serves every target.
    expect(g.nodes.filter((n) => n.op === 'Shape' && n.name.startsWith('turbo/shapes'))).toHaveLength(1);
  });
  test('the patch embedding target [-1, 196, C] (patches, not tokens) is left alone', async () => {
    const g = await readGraphModel(embeddedModelDir());
    const patches = 'vit/embeddings/patch_embeddings/Reshape';
    const target = dataInputs(g.node(patches))[1];
    expect(Array.from(g.constValues(target)!)).toEqual([-1, 196, 192]);
    expect(makeTokenCountDynamic(g, 197, input(g), tokenPath(g, findAttentionBlocks(g).blocks)).reshapes).not.toContain(patches);
    expect(dataInputs(g.node(patches))[1]).toBe(target);
  });
});

describe('only the token path, only well-formed targets (issue 26, item 6)', () => {
  test('a [-1, N, C] Reshape off the token path keeps N; a [-1, N, -1] target on it is left static and reported', async () => {
    const g = await readGraphModel(embeddedModelDir());
    const blocks = findAttentionBlocks(g).blocks;
    // Off the path: a side branch from a constant, not from the image.
    const side = g.addConst('side/values', 'float32', [2 * 197 * 4], new Array(2 * 197 * 4).fill(0));
    const sideShape = g.addConst('side/shape', 'int32', [3], [-1, 197, 4]);
    g.addNode({ name: 'side/reshape', op: 'Reshape', input: [side.name, sideShape.name], attr: { T: { type: 'DT_FLOAT' }, Tshape: { type: 'DT_INT32' } } });
    // On the path: block 0's input reshaped with two -1 entries.
    const twoFree = g.addConst('odd/shape', 'int32', [3], [-1, 197, -1]);
    g.addNode({ name: 'odd/reshape', op: 'Reshape', input: [blocks[0].blockInputRef, twoFree.name], attr: { T: { type: 'DT_FLOAT' }, Tshape: { type: 'DT_INT32' } } });
    const path = tokenPath(g, blocks);
    expect(path.has('side/reshape')).toBe(false);
    expect(path.has('odd/reshape')).toBe(true);
    const report = makeTokenCountDynamic(g, 197, input(g), path);
    expect(report.reshapes).not.toContain('side/reshape');
    expect(report.reshapes).not.toContain('odd/reshape');
    expect(dataInputs(g.node('side/reshape'))[1]).toBe('side/shape');
    expect(dataInputs(g.node('odd/reshape'))[1]).toBe('odd/shape');
    expect(staticTokenReshapes(g, 197, path)).toEqual(['odd/reshape']);
  });
});

describe('Pack(batch, N, ...) targets inside the blocks (HF BLIP)', () => {
  test.each([false, true])('topology only: %s: each is found and its token entry becomes -1', async (topology) => {
    const g = topology ? await readModelJsonOnly(path.join(BLIP, 'model.json')) : await readGraphModel(BLIP);
    const region = blockRegion(g, findAttentionBlocks(g).blocks);
    const found = packedTokenAxes(g, region, 65);
    expect(found).toHaveLength(8); // two per block: the qkv split and the merge of the heads
    for (const f of found) {
      expect(f.value).toBe(topology ? undefined : 65);
      expect(f.blocked).toBe(false);
    }
    const changed = makePackedTokenAxesDynamic(g, region, 65);
    expect(changed).toEqual(found.map((f) => f.pack.name));
    expect(packedTokenAxes(g, region, 65)).toEqual([]);
    const minusOne = new Set(found.map((f) => dataInputs(f.pack)[1]));
    expect(minusOne.size).toBe(1);
    expect(Array.from(g.constValues([...minusOne][0])!)).toEqual([-1]);
  });
  test('a Pack with a -1 entry already cannot take another: found, blocked, left alone', async () => {
    const g = await readGraphModel(BLIP);
    const region = blockRegion(g, findAttentionBlocks(g).blocks);
    const first = packedTokenAxes(g, region, 65)[0].pack;
    const minus = g.addConst('edited/minus_one', 'int32', [], [-1]);
    g.setInput(first, 2, minus.name);
    const found = packedTokenAxes(g, region, 65);
    expect(found.find((f) => f.pack === first)!.blocked).toBe(true);
    const before = dataInputs(first)[1];
    expect(makePackedTokenAxesDynamic(g, region, 65)).not.toContain(first.name);
    expect(dataInputs(first)[1]).toBe(before);
  });
  test('HF ViT already writes -1 there: nothing to do', async () => {
    const g = await readGraphModel(path.join(HF_FIXTURES, 'vit-small'));
    expect(packedTokenAxes(g, blockRegion(g, findAttentionBlocks(g).blocks), 65)).toEqual([]);
  });
});

test('signature outputs [-1, N, C] get a dynamic token axis; others are left alone', async () => {
  const g = await readGraphModel(BLIP);
  expect(staticSignatureOutputs(g, 65)).toEqual(['last_hidden_state']);
  expect(makeSignatureTokensDynamic(g, 65)).toEqual(['last_hidden_state']);
  const outs = g.modelJson.signature!.outputs!;
  expect(outs.last_hidden_state.tensorShape!.dim!.map((d) => String(d.size))).toEqual(['-1', '-1', '64']);
  expect(outs.pooler_output.tensorShape!.dim!.map((d) => String(d.size))).toEqual(['-1', '64']);
  expect(staticSignatureOutputs(g, 65)).toEqual([]);
});
