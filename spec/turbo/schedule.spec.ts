// Schedules against the rules and examples of ../shared/TURBO.md (copied here as literals).
import { effectiveR, estimateFlopRatio, layerIndices, mergeWeight, parseRSchedule, tokenCounts } from '../../src/turbo/schedule';

test('r as a number, a padded list, and (r, inflect)', () => {
  expect(parseRSchedule(16, 3)).toEqual([16, 16, 16]);
  expect(parseRSchedule([8, 8, 4], 5)).toEqual([8, 8, 4, 0, 0]);
  // TURBO.md: r = 20, inflect = -0.5 on 12 blocks: 30, 28, 26, ... down to 10.
  const s = parseRSchedule({ r: 20, inflect: -0.5 }, 12);
  expect(s[0]).toBe(30);
  expect(s[1]).toBe(28);
  expect(s[11]).toBe(10);
  expect(s.every((v, i) => i === 0 || v <= s[i - 1])).toBe(true);
});

test('l counts earlier blocks with a scheduled r > 0, merged or not', () => {
  expect(layerIndices([0, 4, 0, 4, 4])).toEqual([0, 0, 1, 1, 2]);
});

test('clamping to floor((N - p) / 2) and the threshold', () => {
  expect(effectiveR(16, 197, 1, 0)).toBe(16);
  expect(effectiveR(16, 21, 1, 0)).toBe(10);
  expect(effectiveR(50, 21, 1, 0)).toBe(10);
  expect(effectiveR(16, 5, 2, 0)).toBe(1);
  expect(effectiveR(16, 39, 1, 40)).toBe(0); // fewer tokens than r_threshold: no merge
  expect(effectiveR(16, 40, 1, 40)).toBe(16);
  expect(effectiveR(0, 197, 1, 0)).toBe(0);
});

test('token counts as the official implementation produced them (spec/fixtures/parity/vit-tiny-turbo.json)', () => {
  // TURBO.md's "197 -> 17 tokens" for r = 16 does not match the official code, whose clamping
  // leaves 11 (21 tokens before the last block, r clamped to 10); the official vectors are the reference.
  expect(tokenCounts(197, parseRSchedule(16, 12), 1, 0)).toEqual([181, 165, 149, 133, 117, 101, 85, 69, 53, 37, 21, 11]);
  expect(tokenCounts(197, parseRSchedule(16, 12), 1, 40)).toEqual([181, 165, 149, 133, 117, 101, 85, 69, 53, 37, 37, 37]);
  expect(tokenCounts(197, parseRSchedule({ r: 20, inflect: -0.5 }, 12), 1, 0)).toEqual([167, 139, 113, 89, 67, 47, 28, 15, 8, 5, 3, 2]);
});

test('the attention weight c = 30 alpha beta^|gamma - l|', () => {
  expect(mergeWeight(5, 1, 0, 7)).toBe(150);
  expect(mergeWeight(2, 0.5, 3, 1)).toBeCloseTo(30 * 2 * 0.25, 12);
  expect(mergeWeight(0, 0.9, 4, 2)).toBe(0);
});

test('FLOP ratio: 1 without merging, growing with r, by the block formula', () => {
  const dims = { hidden: 768, mlp: 3072 };
  expect(estimateFlopRatio(197, tokenCounts(197, parseRSchedule(0, 12), 1, 0), dims)).toBe(1);
  const ratios = [4, 8, 13, 16].map((r) => estimateFlopRatio(197, tokenCounts(197, parseRSchedule(r, 12), 1, 0), dims));
  expect(ratios.every((v, i) => i === 0 || v > ratios[i - 1])).toBe(true);
  // One block, N 197 -> 181: attention on 197 tokens, MLP on 181.
  const attn = (n: number) => 4 * n * 768 * 768 + 2 * n * n * 768;
  const mlp = (n: number) => 2 * n * 768 * 3072;
  expect(estimateFlopRatio(197, [181], dims)).toBeCloseTo((attn(197) + mlp(197)) / (attn(197) + mlp(181)), 12);
  // Merged at the block end (MCTF): block 0 runs whole on 197 tokens, block 1 on the 181 left.
  const full = attn(197) + mlp(197);
  expect(estimateFlopRatio(197, [181, 165], dims, true)).toBeCloseTo((2 * full) / (full + attn(181) + mlp(181)), 12);
});
