// The ranking rule of docs/ALGORITHM.md where scores are not ordinary numbers: a NaN E (NaN
// class-token attention) ranks last, like -inf, with the lower source index first among equals;
// the same rule as native/turbo/merge_core.h (spec/native checks the two agree bit for bit).
import { bipartiteMatch } from '../../src/turbo/merge';

/** Which sources (by token index) were merged, for n tokens with no class token and unit metric rows. */
function mergedSources(cls: number[], r: number): number[] {
  const n = cls.length;
  // Identical rows: every source's best cosine is 1, so E = 1 - c·cls.
  const metric = Array.from({ length: n * 2 }, (_, k) => (k % 2 === 0 ? 1 : 0));
  const a = bipartiteMatch(metric, cls, 1, n, 2, { r, c: 1, protectedTokens: 0 });
  const dest = Array.from(a.dest);
  const outputs = new Map<number, number>();
  dest.forEach((o) => outputs.set(o, (outputs.get(o) ?? 0) + 1));
  return dest.map((o, i) => (i % 2 === 0 && outputs.get(o)! > 1 ? i : -1)).filter((i) => i >= 0);
}

test('NaN scores rank after every finite score and after -inf, ties by the lower index', () => {
  // Sources are the even tokens 0, 2, 4, 6, 8; E = -cls.
  expect(mergedSources([NaN, 0, 0.5, 0, NaN, 0, 0.1, 0, 0.2, 0], 3)).toEqual([2, 6, 8]);
  // E: source 0 NaN, 2 -inf, 4 NaN, 6 -0.1, 8 -0.2 (plus 1): 6, 8, then 0, 2, 4 as equals by index.
  expect(mergedSources([NaN, 0, Infinity, 0, NaN, 0, 0.1, 0, 0.2, 0], 3)).toEqual([0, 6, 8]);
  expect(mergedSources([NaN, 0, Infinity, 0, NaN, 0, 0.1, 0, 0.2, 0], 4)).toEqual([0, 2, 6, 8]);
});
