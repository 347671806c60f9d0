// Every Turbo option, its default and its effect, in one place.

import { OptionsError } from '../errors';
import type { MergeMode, MergeScore } from './merge';

/**
 * Tokens merged per block:
 * - a number: the same r in every block;
 * - a list: one r per block (a shorter list is padded with 0);
 * - `{ r, inflect }`: a linear schedule over the blocks, `inflect < 0` merges more early on
 *   (r = 20, inflect = -0.5 on 12 blocks: 30, 28, ..., 10).
 * The requested r is clamped at run time to floor((N - protected) / 2).
 */
export type RSchedule = number | number[] | { r: number; inflect: number };

export interface TurboOptions {
  /** Tokens merged per block (default 16). */
  r: RSchedule;
  /** Weight of class-token attention in the informativity ranking; 0 is plain ToMe (default 5). */
  alpha: number;
  /** Per-layer decay of the attention weight: c = 30·alpha·beta^|gamma − l| (default 1). */
  beta: number;
  /** Layer at which the attention weight peaks (default 0). */
  gamma: number;
  /** Skip merging once fewer than this many tokens remain (default 0: never skip). */
  rThreshold: number;
  /** Add log(size) to the attention logits after the first merge (default true). */
  propAttn: boolean;
  /**
   * Which tokens merge (docs/ALGORITHM.md): 'turbo', informativity with alpha/beta/gamma (default;
   * alpha 0 is ToMe), 'pitome', PiToMe's energy with its margin 0.9 − 0.8·block/blocks, or 'mctf',
   * MCTF's similarity × informativeness × size weight matched both ways, merged at the end of the
   * block on the block's output (its official placement without one-step-ahead attention).
   */
  score?: MergeScore;
  /** How merged tokens combine: 'mean', size-weighted (default), or 'mlerp', ToFu's norm-keeping mean. */
  merge?: MergeMode;
  /**
   * MCTF's temperatures of similarity, informativeness and size (score 'mctf' only; 0 turns a
   * criterion off). Absent: the official DeiT evaluation's 1, 20, 40 (DEFAULT_MCTF_TAU).
   */
  tau?: MctfTau;
}

export interface MctfTau {
  sim: number;
  info: number;
  size: number;
}

/** The official DeiT evaluation's temperatures (mlvlab/MCTF run/eval_deit_t_mctf.sh), TurboMerge's attr defaults. */
export const DEFAULT_MCTF_TAU: Readonly<MctfTau> = Object.freeze({ sim: 1, info: 20, size: 40 });

export const MERGE_SCORE_NAMES: readonly MergeScore[] = ['turbo', 'pitome', 'mctf'];
export const MERGE_MODE_NAMES: readonly MergeMode[] = ['mean', 'mlerp'];

export const DEFAULT_TURBO_OPTIONS: Readonly<Required<Omit<TurboOptions, 'tau'>>> = Object.freeze({
  r: 16,
  alpha: 5,
  beta: 1,
  gamma: 0,
  rThreshold: 0,
  propAttn: true,
  score: 'turbo',
  merge: 'mean',
});

/** The fields of `o` that are set: spread over defaults, an unset (undefined) field keeps the default. */
export function definedFields<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Fills defaults for missing fields and validates; errors start with the option's name. */
export function resolveTurboOptions(partial: Partial<TurboOptions> = {}): TurboOptions {
  const o: TurboOptions = { ...DEFAULT_TURBO_OPTIONS, ...definedFields(partial) };
  validateRSchedule(o.r);
  finite('alpha', o.alpha);
  finite('beta', o.beta);
  finite('gamma', o.gamma);
  count('rThreshold', o.rThreshold);
  if (typeof o.propAttn !== 'boolean') throw new OptionsError('propAttn', `${String(o.propAttn)} is not a boolean`);
  if (!MERGE_SCORE_NAMES.includes(o.score as MergeScore)) throw new OptionsError('score', `${JSON.stringify(o.score)} is not one of ${MERGE_SCORE_NAMES.join(', ')}`);
  if (!MERGE_MODE_NAMES.includes(o.merge as MergeMode)) throw new OptionsError('merge', `${JSON.stringify(o.merge)} is not one of ${MERGE_MODE_NAMES.join(', ')}`);
  if (o.tau !== undefined) {
    validateTau(o.tau);
    // Written nowhere else, so a tau with another score would be silently ignored.
    if (o.score !== 'mctf') throw new OptionsError('tau', `only MCTF has temperatures; the score is '${o.score}'`);
  }
  return o;
}

export function validateRSchedule(r: RSchedule): void {
  if (typeof r === 'number') return count('r', r);
  if (Array.isArray(r)) return r.forEach((v, i) => count('r', v, `entry ${i} `));
  if (r && typeof r === 'object') {
    count('r', r.r);
    finite('inflect', r.inflect);
    return;
  }
  throw new OptionsError('r', `${JSON.stringify(r)} is not a number, a list or {r, inflect}`);
}

/** A non-negative integer (r, thresholds, layer indices); `at` says which entry of a list. */
export function count(name: string, v: number, at = ''): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new OptionsError(name, `${at}${String(v)} is not a finite number`);
  if (v < 0) throw new OptionsError(name, `${at}${v} is negative; it must be a non-negative integer`);
  if (!Number.isInteger(v)) throw new OptionsError(name, `${at}${v} is not an integer`);
}

export function finite(name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new OptionsError(name, `${String(v)} is not a finite number`);
}

/** Temperatures are exponents' denominators: finite and non-negative (0: the criterion is off, as in the official code). */
export function validateTau(tau: MctfTau): void {
  if (!tau || typeof tau !== 'object') throw new OptionsError('tau', `${JSON.stringify(tau)} is not {sim, info, size}`);
  for (const k of ['sim', 'info', 'size'] as const) {
    finite(`tau.${k}`, tau[k]);
    if (tau[k] < 0) throw new OptionsError(`tau.${k}`, `${tau[k]} is negative`);
  }
}
