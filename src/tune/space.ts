// The merge variants the tuner chooses among, besides the schedule and alpha: which token score
// selects the tokens that merge and how a merged group is averaged. Each is a set of rewrite
// options applied on top of the schedule, so a variant is one more candidate dimension and nothing
// else in the tuner knows what it does.
//
// TurboMerge's scores are Turbo's informativity (alpha 0 is ToMe), PiToMe's energy and MCTF's
// similarity × informativeness × size, its merge arithmetic the size-weighted mean and ToFu's MLERP
// (src/turbo/options.ts). MCTF merges at the end of the block, after the MLP, so the same r saves
// fewer FLOPs: its candidates are fitted to the target with the block-end FLOP count (shapeFor). A further score or
// arithmetic becomes searchable by adding its rewrite options here; the tuner then scores it like
// any other candidate and writes the winner's options into the model.

import { RewriteOptions } from '../rewrite/pass';
import { ModelShape } from './schedules';

/** What a candidate sets beyond r and alpha. */
export type VariantOptions = Partial<Omit<RewriteOptions, 'r' | 'alpha' | 'architecture' | 'portable'>>;

export interface MergeVariant {
  /** Shown in the search log and the model's tuning metadata. */
  name: string;
  options: VariantOptions;
  /** Whether alpha means anything to this variant (a score that ignores class attention is scored at one alpha only). */
  usesAlpha: boolean;
}

export const TURBO_VARIANT: MergeVariant = { name: 'turbo', options: {}, usesAlpha: true };

/** Every variant the converter supports, the default first. PiToMe's energy has no class-attention term, so alpha is moot for it. */
export const MERGE_VARIANTS: readonly MergeVariant[] = [
  TURBO_VARIANT,
  { name: 'turbo, MLERP', options: { merge: 'mlerp' }, usesAlpha: true },
  { name: 'PiToMe', options: { score: 'pitome' }, usesAlpha: false },
  { name: 'PiToMe, MLERP', options: { score: 'pitome', merge: 'mlerp' }, usesAlpha: false },
  // MCTF's score has no alpha (its informativeness term is fixed); the commit that added it measured
  // MLERP with it better than Turbo at FLOP 1.8 to 1.9, so both arithmetics are searched.
  { name: 'MCTF', options: { score: 'mctf' }, usesAlpha: false },
  { name: 'MCTF, MLERP', options: { score: 'mctf', merge: 'mlerp' }, usesAlpha: false },
];

/** Whether the variant, over the tuner's fixed settings, merges at the block end (MCTF). */
export function mergesAtBlockEnd(v: MergeVariant, fixed: VariantOptions = {}): boolean {
  return ({ ...fixed, ...v.options }.score ?? 'turbo') === 'mctf';
}

/**
 * The model as the FLOP count sees it for candidates of `v`: every FLOP computation of the tuner
 * (the level of a shape, a per-block refit, a speed refit) goes through this, so an MCTF candidate is
 * never credited with savings its block-end merge does not make.
 */
export function shapeFor(model: ModelShape, v: MergeVariant, fixed: VariantOptions = {}): ModelShape {
  return { ...model, blockEnd: mergesAtBlockEnd(v, fixed) };
}

export function variantNamed(name: string, variants: readonly MergeVariant[] = MERGE_VARIANTS): MergeVariant {
  const v = variants.find((x) => x.name === name);
  if (!v) throw new Error(`unknown merge variant '${name}' (known: ${variants.map((x) => x.name).join(', ')})`);
  return v;
}
