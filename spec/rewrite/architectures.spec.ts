// Family detection: every family gives its reason on every real converter graph, a family that
// specialises another wins over it, two unrelated matches are an ambiguity error, no match lists
// every family's reason; and a new family is one definition whose hooks the pass uses.

import * as path from 'path';
import { embeddedModelDir } from '../../src/convert';
import { Graph } from '../../src/graph/ir';
import { readGraphModel, readModelJsonOnly } from '../../src/graph/model_io';
import { ARCHITECTURES } from '../../src/rewrite/architectures';
import { chooseArchitecture, detectFamilies } from '../../src/rewrite/architectures/detect';
import { blip } from '../../src/rewrite/architectures/blip';
import { clip, isQuickGelu } from '../../src/rewrite/architectures/clip';
import { deit } from '../../src/rewrite/architectures/deit';
import { VIT_DEFAULTS, defineArchitecture, vit } from '../../src/rewrite/architectures/vit';
import { mlpNodes } from '../../src/rewrite/blocks';
import { NoTransformerBlocksError } from '../../src/rewrite/errors';
import { planTurbo } from '../../src/rewrite/pass';
import { HF_FIXTURES } from '../hf/hf_fixture';

const hf = (f: string) => readGraphModel(path.join(HF_FIXTURES, f));

const ONE = 'expected 1 class token before the patches, found 2';
/** Each family's verdict, as [matches, reason pattern], per fixture. */
const VERDICTS: Record<string, Record<string, [boolean, RegExp]>> = {
  'vit-small': {
    vit: [true, /^one class token concatenated before the patches \('.*embeddings\/concat'\)$/],
    deit: [false, /^expected 2 special tokens before the patches, found 1$/],
    clip: [false, /^no LayerNorm between the embeddings and the first block$/],
    blip: [false, /^keys are not sliced from a fused qkv projection$/],
  },
  'deit-small': {
    vit: [false, new RegExp(`^${ONE}$`)],
    deit: [true, /^class and distillation tokens concatenated before the patches/],
    clip: [false, new RegExp(`^${ONE}$`)],
    blip: [false, new RegExp(`^${ONE}$`)],
  },
  'clip-small': {
    vit: [true, /^one class token/],
    deit: [false, /found 1$/],
    clip: [true, /^one class token, a LayerNorm before the first block, quick-GELU in the MLPs of all 4 blocks$/],
    blip: [false, /^keys are not sliced/],
  },
  'blip-small': {
    vit: [true, /^one class token/],
    deit: [false, /found 1$/],
    clip: [false, /^no LayerNorm/],
    blip: [true, /^one class token, and the keys of all 4 blocks are sliced from a fused qkv projection$/],
  },
};

test.each(Object.keys(VERDICTS))('%s: every family says whether it matches and why', async (fixture) => {
  const { verdicts } = detectFamilies(await hf(fixture));
  expect(verdicts.map((v) => v.family).sort()).toEqual(Object.keys(VERDICTS[fixture]).sort());
  for (const v of verdicts) {
    const [matches, reason] = VERDICTS[fixture][v.family];
    expect([v.family, v.matches]).toEqual([v.family, matches]);
    expect(v.reason).toMatch(reason);
    expect(v.blocks).toBe(4);
  }
});

test.each([
  ['vit-small', 'vit'],
  ['deit-small', 'deit'],
  ['clip-small', 'clip'],
  ['blip-small', 'blip'],
])('%s is %s (specialisation decides where vit matches too), whatever the order of the list', async (fixture, family) => {
  const g = await hf(fixture);
  expect(chooseArchitecture(g).arch.name).toBe(family);
  expect(chooseArchitecture(g, undefined, [...ARCHITECTURES].reverse()).arch.name).toBe(family);
});

test('both ViT-Tiny models are vit', async () => {
  expect(chooseArchitecture(await readGraphModel(embeddedModelDir())).arch.name).toBe('vit');
  expect(chooseArchitecture(await readGraphModel(`${embeddedModelDir()}-tfjs-converter`)).arch.name).toBe('vit');
});

test('two matching families, neither a special case of the other: an ambiguity error naming both', async () => {
  const rival = defineArchitecture({ name: 'rival', detect: () => ({ matches: true, reason: 'it says so' }) });
  const g = await hf('clip-small');
  expect(() => chooseArchitecture(g, undefined, [vit, clip, rival])).toThrow(
    new NoTransformerBlocksError(
      "found 4 attention block(s) and more than one architecture fits, none a special case of the others (clip: one class token, a LayerNorm before the first block, quick-GELU in the MLPs of all 4 blocks; rival: it says so); choose one with --architecture",
    ),
  );
  // Specialising both resolves it.
  const refined = defineArchitecture({ ...rival, name: 'refined', specialises: ['clip'] });
  expect(chooseArchitecture(g, undefined, [vit, clip, refined]).arch.name).toBe('refined');
});

test('no family fits: the error lists every family with its reason', async () => {
  const g = await hf('vit-small');
  expect(() => chooseArchitecture(g, undefined, [deit, clip, blip])).toThrow(
    'found 4 attention block(s) but no known architecture fits (deit: expected 2 special tokens before the patches, found 1; clip: no LayerNorm between the embeddings and the first block; blip: keys are not sliced from a fused qkv projection)',
  );
  expect(() => chooseArchitecture(g, 'swin')).toThrow("unknown architecture 'swin' (known: vit, deit, clip, blip)");
});

test('CLIP is recognised by quick-GELU in the MLPs, not by any Sigmoid in the graph', async () => {
  const g = await hf('clip-small');
  const blocks = chooseArchitecture(g).blocks;
  for (const b of blocks) expect(mlpNodes(g, b).filter((n) => isQuickGelu(g, n)).length).toBe(1);
  // A scale other than 1.702 is a different activation: that block's MLP no longer counts.
  const scale = g.node(g.node(g.nodes.find((n) => n.op === 'Sigmoid')!.input![0]).input![0]);
  const w = g.weights.get(scale.name)!;
  g.weights.set(scale.name, { ...w, bytes: new Uint8Array(Float32Array.of(2).buffer) });
  expect(clip.detect(g, blocks)).toEqual({ matches: false, reason: 'quick-GELU (x·sigmoid(1.702x)) in the MLP of 3 of 4 blocks' });
  // Without the shards the constant is unknown; the structure alone decides.
  const topology = await readModelJsonOnly(path.join(HF_FIXTURES, 'clip-small', 'model.json'));
  expect(clip.detect(topology, chooseArchitecture(topology).blocks).matches).toBe(true);
});

test('Sigmoids that are not quick-GELU MLPs (another activation, a sigmoid head) do not make a CLIP', async () => {
  const g = await hf('clip-small');
  for (const sigmoid of g.nodes.filter((n) => n.op === 'Sigmoid')) {
    const scale = g.node(g.node(sigmoid.input![0]).input![0]);
    g.weights.set(scale.name, { ...g.weights.get(scale.name)!, bytes: new Uint8Array(Float32Array.of(1).buffer) }); // SiLU: x·sigmoid(x)
  }
  const head = g.modelJson.signature!.outputs!.image_embeds.name.replace(/:0$/, '');
  g.addNode({ name: 'head/sigmoid', op: 'Sigmoid', input: [head], attr: { T: { type: 'DT_FLOAT' } } });
  const { verdicts } = detectFamilies(g);
  expect(verdicts.find((v) => v.family === 'clip')!.reason).toBe('quick-GELU (x·sigmoid(1.702x)) in the MLP of 0 of 4 blocks');
  expect(chooseArchitecture(g).arch.name).toBe('vit');
});

test('a new family is one definition: the pass takes its keys, attention and tokens from its hooks', async () => {
  const g = await hf('vit-small');
  const seen: string[] = [];
  const custom = defineArchitecture({
    name: 'custom',
    specialises: ['vit'],
    detect: () => ({ matches: true, reason: 'test family' }),
    keys: (graph, block) => (seen.push(block.qk.name), VIT_DEFAULTS.keys(graph, block)),
    classAttention: (_graph, block) => block.logitsRef,
    tokens: () => ({ protectedTokens: 3, tokenCount: 65 }),
  });
  const plan = planTurbo(g, { r: 2, rThreshold: 0 }, [vit, custom]);
  expect(plan.architecture).toBe('custom');
  expect(plan.detection).toBe('test family');
  expect(plan.protectedTokens).toBe(3);
  expect(seen).toEqual(plan.blocks.map((b) => b.qk.name));
  expect(plan.sources.map((s) => s.attention)).toEqual(plan.blocks.map((b) => b.logitsRef));
});

test('a family protecting all but one of its tokens is refused: nothing could merge', async () => {
  const g = await hf('vit-small');
  const greedy = defineArchitecture({ name: 'greedy', specialises: ['vit'], detect: () => ({ matches: true, reason: 'x' }), tokens: () => ({ protectedTokens: 64, tokenCount: 65 }) });
  expect(() => planTurbo(g, { r: 2, rThreshold: 0 }, [vit, greedy])).toThrow('its 64 protected token(s) leave nothing to merge among its 65 tokens');
});

test('a family whose hook cannot answer says so', async () => {
  const g: Graph = await hf('vit-small');
  const broken = defineArchitecture({ name: 'broken', specialises: ['vit'], detect: () => ({ matches: true, reason: 'x' }), pooling: () => 'the pool is odd' });
  expect(() => planTurbo(g, { r: 2, rThreshold: 0 }, [vit, broken])).toThrow('found 4 attention block(s) of family broken, but the pool is odd');
});
