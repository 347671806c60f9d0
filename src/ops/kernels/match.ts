// The one place kernels turn attrs + shapes into the matching: shared by the cpu and wasm kernels.
import { Assignment, bipartiteMatch } from '../../turbo/merge';
import { effectiveR, mergeWeight } from '../../turbo/schedule';
import { TurboMergeAttrs } from '../kernel_names';

export function matchTokens(
  metric: ArrayLike<number>,
  clsAttn: ArrayLike<number>,
  shape: { batch: number; n: number; d: number },
  attrs: TurboMergeAttrs,
): Assignment {
  const r = effectiveR(attrs.r, shape.n, attrs.protectedTokens, attrs.rThreshold);
  const c = mergeWeight(attrs.alpha, attrs.beta, attrs.gamma, attrs.layer);
  return bipartiteMatch(metric, clsAttn, shape.batch, shape.n, shape.d, { r, c, protectedTokens: attrs.protectedTokens });
}
