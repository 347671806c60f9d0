// The one place kernels turn attrs + shapes into the matching: shared by the cpu and wasm kernels
// and the composite read-back path.
import { Assignment, MergeMode, bipartiteMatch } from '../../turbo/merge';
import { effectiveR, mergeWeight } from '../../turbo/schedule';
import { DEFAULT_MARGIN, DEFAULT_TAU, MERGE_MODES, MERGE_SCORES, TurboMergeAttrs } from '../kernel_names';

export function matchTokens(
  metric: ArrayLike<number>,
  clsAttn: ArrayLike<number>,
  shape: { batch: number; n: number; d: number },
  attrs: TurboMergeAttrs,
  size: ArrayLike<number> | null = null,
): Assignment {
  const r = effectiveR(attrs.r, shape.n, attrs.protectedTokens, attrs.rThreshold);
  const c = mergeWeight(attrs.alpha, attrs.beta, attrs.gamma, attrs.layer);
  return bipartiteMatch(metric, clsAttn, shape.batch, shape.n, shape.d, {
    r,
    c,
    protectedTokens: attrs.protectedTokens,
    score: MERGE_SCORES[attrs.score ?? 0],
    margin: attrs.margin ?? DEFAULT_MARGIN,
    tau: { sim: attrs.tauSim ?? DEFAULT_TAU.sim, info: attrs.tauInfo ?? DEFAULT_TAU.info, size: attrs.tauSize ?? DEFAULT_TAU.size },
    size,
  });
}

/** The merge arithmetic the attrs ask for (absent: the size-weighted mean). */
export function mergeModeOf(attrs: TurboMergeAttrs): MergeMode {
  return MERGE_MODES[attrs.mergeMode ?? 0];
}
