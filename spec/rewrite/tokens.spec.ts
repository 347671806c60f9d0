// The token layout (architectures/tokens.ts) on real converter graphs: the token concat, the
// special tokens, the token count from each source, and each named pattern matched and
// mismatched (with the step and what was found) on real fixtures.

import * as path from 'path';
import { embeddedModelDir } from '../../src/convert';
import { Graph, dataInputs } from '../../src/graph/ir';
import { describeFailures, isFailure, matchParentPath, matchTensorPath, matchVariants } from '../../src/graph/match';
import { readGraphModel, readModelJsonOnly } from '../../src/graph/model_io';
import { KEYS_RESHAPE, PATCH_EMBEDDING, patchGridTokens, readTokenLayout, staticTokenCount, tokenInfo, tokenLayoutWith } from '../../src/rewrite/architectures/tokens';
import { AttentionBlock, findAttentionBlocks } from '../../src/rewrite/blocks';
import { HF_FIXTURES } from '../hf/hf_fixture';

const MODELS: [string, string, number, number][] = [
  ['vit-small', path.join(HF_FIXTURES, 'vit-small'), 1, 65],
  ['deit-small', path.join(HF_FIXTURES, 'deit-small'), 2, 66],
  ['clip-small', path.join(HF_FIXTURES, 'clip-small'), 1, 65],
  ['blip-small', path.join(HF_FIXTURES, 'blip-small'), 1, 65],
  ['vit-tiny (ours)', embeddedModelDir(), 1, 197],
];

async function load(dir: string, topology = false): Promise<{ g: Graph; blocks: AttentionBlock[] }> {
  const g = topology ? await readModelJsonOnly(path.join(dir, 'model.json')) : await readGraphModel(dir);
  return { g, blocks: findAttentionBlocks(g).blocks };
}

describe.each(MODELS)('%s', (_name, dir, special, tokens) => {
  test.each([false, true])('topology only: %s: the concat, the special tokens and the token count', async (topology) => {
    const { g, blocks } = await load(dir, topology);
    const layout = readTokenLayout(g, blocks[0])!;
    expect(layout.concat.op).toBe('ConcatV2');
    expect(layout.specialTokens).toBe(special);
    expect(layout.tokenCount).toBe(tokens);
    expect(layout.path[0]).toBe(layout.concat);
    expect(tokenInfo(g, blocks, special)).toEqual({ protectedTokens: special, tokenCount: tokens });
  });

  test('the patch grid (image size / conv stride + special tokens) agrees with the token count', async () => {
    const { g, blocks } = await load(dir);
    const layout = readTokenLayout(g, blocks[0])!;
    expect(patchGridTokens(g, layout.concat, special)).toBe(tokens);
  });

  test('a family expecting another number of special tokens says how many there are', async () => {
    const { g, blocks } = await load(dir);
    const other = special === 1 ? 2 : 1;
    expect(tokenLayoutWith(g, blocks, other, 'tokens')).toBe(`expected ${other} tokens before the patches, found ${special}`);
    expect(tokenInfo(g, blocks, other)).toMatch(/^expected/);
  });
});

test('no token concat above the first block: said so', async () => {
  const { g, blocks } = await load(path.join(HF_FIXTURES, 'vit-small'));
  const input = g.nodes.find((n) => n.op === 'Placeholder')!.name;
  expect(tokenLayoutWith(g, [{ ...blocks[0], blockInputRef: input }], 1, 'class token')).toBe('no token concat (special tokens + patches) found before the first block');
});

describe(`${KEYS_RESHAPE.name}`, () => {
  test('matches our converter (constant target [-1, 197, 3, 64])', async () => {
    const { g, blocks } = await load(embeddedModelDir());
    for (const b of blocks) {
      const m = matchTensorPath(g, b.keysRef, KEYS_RESHAPE);
      if (isFailure(m)) throw new Error(m.reason);
      expect(m.nodes.map((n) => n.op)).toEqual(['Transpose', 'Reshape']);
      expect(staticTokenCount(g, b)).toBe(197);
    }
  });
  test.each([
    ['vit-small', 'Reshape [-1, N, H, d]', /^Reshape '.*attention\/Reshape_1' has no constant target of known value$/],
    ['blip-small', 'Transpose to heads', /^found StridedSlice '.*self_attn\/strided_slice_2'$/],
  ])('mismatch on %s: at %s', async (fixture, step, reason) => {
    const { g, blocks } = await load(path.join(HF_FIXTURES, fixture));
    const m = matchTensorPath(g, blocks[0].keysRef, KEYS_RESHAPE);
    if (!isFailure(m)) throw new Error('matched');
    expect(m.step).toBe(step);
    expect(m.reason).toMatch(reason);
    expect(staticTokenCount(g, blocks[0])).toBeUndefined();
  });
  test('mismatch without the shards: the target value is unknown', async () => {
    const { g, blocks } = await load(embeddedModelDir(), true);
    const m = matchTensorPath(g, blocks[0].keysRef, KEYS_RESHAPE);
    expect(isFailure(m) && m.reason).toMatch(/has no constant target of known value/);
  });
});

describe('patch embedding variants', () => {
  const [withBias, withoutBias] = PATCH_EMBEDDING;
  const patchInput = async (dir: string) => {
    const { g, blocks } = await load(dir);
    const layout = readTokenLayout(g, blocks[0])!;
    return { g, concat: layout.concat, index: layout.specialTokens };
  };
  test.each([...MODELS.filter(([n]) => !n.startsWith('clip')).map(([n, d]) => [n, d, withBias.name]), ['clip-small', path.join(HF_FIXTURES, 'clip-small'), withoutBias.name]])(
    '%s: %s... matches %s',
    async (_name, dir, variant) => {
      const { g, concat, index } = await patchInput(dir);
      const m = matchVariants(g, concat, index, PATCH_EMBEDDING);
      if (Array.isArray(m)) throw new Error(describeFailures(m));
      expect(m.pattern).toBe(variant);
      expect(m.nodes.map((n) => n.op)).toEqual(['Reshape', variant === withBias.name ? '_FusedConv2D' : 'Conv2D']);
    },
  );
  test('each variant names the step where the other model differs', async () => {
    const vit = await patchInput(path.join(HF_FIXTURES, 'vit-small'));
    const clip = await patchInput(path.join(HF_FIXTURES, 'clip-small'));
    const a = matchParentPath(vit.g, vit.concat, vit.index, withoutBias);
    expect(isFailure(a) && [a.step, a.reason.split(' ')[1]]).toEqual(['patch convolution', '_FusedConv2D']);
    const b = matchParentPath(clip.g, clip.concat, clip.index, withBias);
    expect(isFailure(b) && [b.step, b.reason.split(' ')[1]]).toEqual(['patch convolution', 'Conv2D']);
    // The class token input is Reshape(Tile(cls)): no convolution under it.
    const c = matchVariants(vit.g, vit.concat, 0, PATCH_EMBEDDING);
    expect(Array.isArray(c) && c.map((f) => `${f.step}: ${f.reason.split(' ')[1]}`)).toEqual(['patch convolution: Tile', 'patch convolution: Tile']);
    expect(dataInputs(vit.concat)).toHaveLength(3);
  });
});
