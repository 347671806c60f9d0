// The search space of the auto-tuner: a few schedule shapes, each scaled by one level (r) to the
// smallest value that reaches the FLOP target, since merging more than needed only costs accuracy.
// Pure functions: the same model dimensions and target give the same candidates.

import { BlockDims } from '../rewrite/dims';
import { estimateFlopRatio, parseRSchedule, tokenCounts } from '../turbo/schedule';

export interface ModelShape {
  tokenCount: number;
  blocks: number;
  protectedTokens: number;
  dims: BlockDims;
  /** No merging below this many tokens (default 0). */
  rThreshold?: number;
  /**
   * The merge runs at the end of each block (score 'mctf'), so the MLP runs on the tokens that entered
   * the block: FLOPs are counted with estimateFlopRatio's block-end form, or MCTF's savings would be
   * overstated and its candidates would merge too little for the target (src/tune/space.ts: shapeFor).
   */
  blockEnd?: boolean;
}

/** A schedule family: r per block as a function of one level. */
export interface Shape {
  name: string;
  schedule(level: number, blocks: number): number[];
}

/** r for every block. */
const constant: Shape = { name: 'constant', schedule: (r, L) => parseRSchedule(r, L) };

/** ToMe's (r, inflect) linear schedule. */
const linear = (inflect: number): Shape => ({
  name: `linear(inflect ${inflect})`,
  schedule: (r, L) => parseRSchedule({ r, inflect }, L),
});

/**
 * The first `skip` blocks untouched, then r decreasing linearly from `level` to 0 at the last block
 * (0,0,20,20,16,12,… measured best on ViT-Tiny: early blocks still build the features that make
 * tokens comparable, late blocks have few tokens left to gain from).
 */
const skipThenDecreasing = (skip: number, plateau: number): Shape => ({
  name: `skip ${skip}, hold ${plateau}, decreasing`,
  schedule: (level, L) =>
    Array.from({ length: L }, (_, l) => {
      if (l < skip) return 0;
      if (l < skip + plateau) return level;
      const span = L - skip - plateau;
      return Math.round((level * (L - 1 - l)) / Math.max(1, span));
    }),
});

export const SHAPES: readonly Shape[] = [
  skipThenDecreasing(2, 2),
  skipThenDecreasing(1, 2),
  skipThenDecreasing(2, 0),
  skipThenDecreasing(0, 2),
  constant,
  linear(-0.5),
  linear(-0.25),
  skipThenDecreasing(3, 1),
  linear(0.25),
];

/**
 * `s` with its first `blocks` blocks left unmerged (the level is then refitted by levelFor, so the
 * other blocks merge more): the first blocks build the features that make tokens comparable, and
 * MCTF's official evaluation leaves block 0 alone.
 */
export function keepingFree(s: Shape, blocks: number): Shape {
  if (blocks <= 0) return s;
  return { name: `${s.name}, first ${blocks} free`, schedule: (level, L) => s.schedule(level, L).map((r, l) => (l < blocks ? 0 : r)) };
}

export const ALPHAS: readonly number[] = [1, 5, 0, 2];

export function flopRatio(shape: ModelShape, schedule: number[]): number {
  return estimateFlopRatio(shape.tokenCount, tokenCounts(shape.tokenCount, schedule, shape.protectedTokens, shape.rThreshold ?? 0), shape.dims, shape.blockEnd ?? false);
}

/** The smallest level of `s` whose FLOP ratio reaches `target`, or undefined if none does. */
export function levelFor(s: Shape, model: ModelShape, target: number): number | undefined {
  const maxLevel = model.tokenCount;
  const reaches = (level: number) => flopRatio(model, s.schedule(level, model.blocks)) >= target;
  if (!reaches(maxLevel)) return undefined;
  // The ratio grows with the level (more merging never adds FLOPs): bisect.
  let lo = 0;
  let hi = maxLevel;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (reaches(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface Candidate {
  shape: string;
  level: number;
  schedule: number[];
  alpha: number;
  /** The merge variant's name (src/tune/space.ts): token score and merge arithmetic. */
  variant: string;
  /** Per-block weights of a searched shape (r = round(level · weight)); absent for the named shapes. */
  weights?: number[];
  flops: number;
}

/** The name searched per-block shapes carry in the log. */
export const SEARCHED_SHAPE = 'searched per block';

/** r per block of a weighted shape at a (real) level. */
export function weightedSchedule(weights: number[], level: number): number[] {
  return weights.map((w) => Math.max(0, Math.round(level * w)));
}

/**
 * The least level (to 1/32 of a token) at which `weights` reach the FLOP target, or undefined. The
 * ratio only grows with the level, so bisection finds it; the level stays real so that moving
 * weight between blocks is not lost to rounding the largest r.
 */
export function fitWeights(weights: number[], model: ModelShape, target: number): { level: number; schedule: number[]; flops: number } | undefined {
  const reaches = (level: number) => flopRatio(model, weightedSchedule(weights, level)) >= target;
  const top = Math.max(...weights);
  if (!(top > 0)) return undefined;
  let hi = model.tokenCount / top;
  if (!reaches(hi)) return undefined;
  let lo = 0;
  while (hi - lo > 1 / 32) {
    const mid = (lo + hi) / 2;
    if (reaches(mid)) hi = mid;
    else lo = mid;
  }
  const schedule = weightedSchedule(weights, hi);
  return { level: hi, schedule, flops: flopRatio(model, schedule) };
}

/** A schedule's own shape: weights r / max r. */
export function weightsOf(schedule: number[]): number[] {
  const top = Math.max(...schedule);
  return schedule.map((r) => (top > 0 ? r / top : 0));
}

/**
 * One candidate per (shape, alpha) at the level that just reaches `target`, in search order:
 * shapes in the order above (the one measured best first), alphas within each shape.
 */
export function candidates(model: ModelShape, target: number, shapes = SHAPES, alphas = ALPHAS, variant = 'turbo'): Candidate[] {
  const out: Candidate[] = [];
  const seen = new Set<string>();
  for (const s of shapes) {
    const level = levelFor(s, model, target);
    if (level === undefined) continue;
    const schedule = s.schedule(level, model.blocks);
    for (const alpha of alphas) {
      const key = `${schedule.join(',')}|${alpha}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ shape: s.name, level, schedule, alpha, variant, flops: flopRatio(model, schedule) });
    }
  }
  return out;
}

/** The same shape `by` levels further (more merging when positive), for matching a measured speed. */
export function stepLevel(c: Candidate, model: ModelShape, by: number, shapes = SHAPES): Candidate | undefined {
  if (c.weights) {
    const level = c.level + by;
    const schedule = weightedSchedule(c.weights, level);
    if (level <= 0 || Math.max(...schedule) > model.tokenCount) return undefined;
    return { ...c, level, schedule, flops: flopRatio(model, schedule) };
  }
  const s = shapes.find((x) => x.name === c.shape);
  const level = c.level + by;
  if (!s || level < 1 || level > model.tokenCount) return undefined;
  const schedule = s.schedule(level, model.blocks);
  return { ...c, level, schedule, flops: flopRatio(model, schedule) };
}

export const stepUp = (c: Candidate, model: ModelShape, shapes = SHAPES) => stepLevel(c, model, 1, shapes);
