// The tuner's search space: every candidate just reaches the FLOP target (one level less does not),
// the order is fixed, and an impossible target yields no candidate.
import { ModelShape, SEARCHED_SHAPE, SHAPES, candidates, fitWeights, keepingFree, flopRatio, levelFor, stepLevel, stepUp, weightedSchedule, weightsOf } from '../../src/tune/schedules';
import { estimateFlopRatio, tokenCounts } from '../../src/turbo/schedule';

const VIT_TINY: ModelShape = { tokenCount: 197, blocks: 12, protectedTokens: 1, dims: { hidden: 192, mlp: 768 } };

test.each([1.2, 1.5, 2])('target FLOP ratio %s: every candidate reaches it with the smallest level', (target) => {
  const cs = candidates(VIT_TINY, target);
  expect(cs.length).toBeGreaterThan(10);
  for (const c of cs) {
    expect(c.flops).toBeGreaterThanOrEqual(target);
    const shape = SHAPES.find((s) => s.name === c.shape)!;
    expect(flopRatio(VIT_TINY, shape.schedule(c.level - 1, 12))).toBeLessThan(target);
    // The estimate is the converter's own (the dry run prints the same number).
    expect(c.flops).toBe(estimateFlopRatio(197, tokenCounts(197, c.schedule, 1, 0), VIT_TINY.dims));
  }
  expect(candidates(VIT_TINY, target)).toEqual(cs);
});

test('the skip-two shape reproduces the schedule measured best on ViT-Tiny', () => {
  const shape = SHAPES[0];
  expect(shape.schedule(20, 12)).toEqual([0, 0, 20, 20, 18, 15, 13, 10, 8, 5, 3, 0]);
});

test('an impossible target has no candidates; stepUp merges more', () => {
  expect(candidates(VIT_TINY, 19)).toEqual([]);
  expect(levelFor(SHAPES[4], VIT_TINY, 19)).toBeUndefined();
  const c = candidates(VIT_TINY, 1.5)[0];
  const up = stepUp(c, VIT_TINY)!;
  expect(up.level).toBe(c.level + 1);
  expect(up.flops).toBeGreaterThanOrEqual(c.flops);
});

test('a per-block shape is fitted to the least level that reaches the target, with real levels', () => {
  const weights = [0, 0, 1, 1, 0.9, 0.75, 0.6, 0.5, 0.4, 0.25, 0.1, 0];
  for (const target of [1.5, 2, 2.5]) {
    const fit = fitWeights(weights, VIT_TINY, target)!;
    expect(fit.flops).toBeGreaterThanOrEqual(target);
    expect(fit.schedule).toEqual(weightedSchedule(weights, fit.level));
    expect(flopRatio(VIT_TINY, weightedSchedule(weights, fit.level - 1 / 16))).toBeLessThan(target);
  }
  expect(fitWeights(weights, VIT_TINY, 19)).toBeUndefined();
  expect(fitWeights(new Array(12).fill(0), VIT_TINY, 1.5)).toBeUndefined();
});

test('a schedule is its own shape: weightsOf then the same level gives it back', () => {
  const schedule = [0, 0, 20, 20, 18, 15, 13, 10, 8, 5, 3, 0];
  expect(weightedSchedule(weightsOf(schedule), 20)).toEqual(schedule);
});

test('stepLevel on a searched shape moves its level by one and keeps its weights', () => {
  const weights = weightsOf([0, 10, 20, 20, 10, 0, 0, 0, 0, 0, 0, 0]);
  const fit = fitWeights(weights, VIT_TINY, 1.5)!;
  const c = { shape: SEARCHED_SHAPE, level: fit.level, schedule: fit.schedule, alpha: 1, variant: 'turbo', weights, flops: fit.flops };
  const up = stepLevel(c, VIT_TINY, 1)!;
  expect(up.level).toBe(c.level + 1);
  expect(up.weights).toBe(weights);
  expect(up.schedule).toEqual(weightedSchedule(weights, c.level + 1));
  expect(up.flops).toBeGreaterThan(c.flops);
});

test('keepingFree: the first blocks never merge and the level is refitted so the target is still reached', () => {
  const free = SHAPES.map((s) => keepingFree(s, 1));
  for (const target of [1.5, 2]) {
    const cs = candidates(VIT_TINY, target, free);
    expect(cs.length).toBeGreaterThan(5);
    for (const c of cs) {
      expect(c.schedule[0]).toBe(0);
      expect(c.flops).toBeGreaterThanOrEqual(target);
      expect(c.shape).toMatch(/, first 1 free$/);
    }
  }
  // A shape that already leaves block 0 alone is unchanged; none free is the shape itself.
  expect(keepingFree(SHAPES[0], 1).schedule(20, 12)).toEqual(SHAPES[0].schedule(20, 12));
  expect(keepingFree(SHAPES[4], 0)).toBe(SHAPES[4]);
  expect(keepingFree(SHAPES[4], 2).schedule(10, 12)).toEqual([0, 0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
});
