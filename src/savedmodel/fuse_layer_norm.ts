// LayerNorm over the last axis, as tfjs writes it, -> one _MklLayerNorm (see fuse.ts).

import { NodeDef } from '../graph/types';
import { View, pairs } from './fuse_view';

/**
 * tf.nn.moments + tf.nn.batch_normalization over the last axis (tfjs's and Keras-to-tfjs's LayerNorm):
 *   mean = Mean(x, -1, keep_dims)      var = Mean(SquaredDifference(x, mean), -1, keep_dims)
 *   s = Rsqrt(var + eps) * gamma       out = x * s + (beta - mean * s)
 */
export function fuseLayerNorm(g: View, out: NodeDef): boolean {
  for (const [a, b] of pairs(out)) {
    const mul1 = g.inner(a, 'Mul');
    const sub = g.inner(b, 'Sub');
    if (!mul1 || !sub) continue;
    const [beta, mul2Ref] = sub.input ?? [];
    const mul2 = g.inner(mul2Ref, 'Mul');
    if (!mul2) continue;
    for (const [x, sRef] of pairs(mul1)) {
      const scale = g.inner(sRef, 'Mul', 2);
      if (!scale || !(mul2.input ?? []).includes(sRef)) continue;
      const meanRef = (mul2.input ?? []).find((r) => r !== sRef);
      const mean = g.inner(meanRef, 'Mean', 2);
      if (!mean || mean.input?.[0] !== x || !lastAxisReduction(g, mean, x)) continue;
      for (const [rsqrtRef, gamma] of pairs(scale)) {
        const rsqrt = g.inner(rsqrtRef, 'Rsqrt');
        const add = rsqrt && g.inner(rsqrt.input?.[0], 'AddV2');
        if (!add) continue;
        for (const [varRef, epsRef] of pairs(add)) {
          const eps = g.scalar(epsRef);
          const variance = g.inner(varRef, 'Mean');
          const sqd = variance && g.inner(variance.input?.[0], 'SquaredDifference');
          if (eps === undefined || !variance || !sqd || !lastAxisReduction(g, variance, x)) continue;
          if (!pairs(sqd).some(([p, q]) => p === x && q === meanRef)) continue;
          // gamma and beta must be per-channel vectors: _MklLayerNorm takes [C] scale and shift.
          const gv = g.values(gamma);
          const bv = g.values(beta);
          if (!gv || !bv || gv.length !== bv.length || !isVector(g, gamma) || !isVector(g, beta)) continue;
          const fused: NodeDef = {
            name: out.name,
            op: '_MklLayerNorm',
            input: [x, gamma, beta],
            attr: { T: out.attr?.T ?? { type: 'DT_FLOAT' }, epsilon: { f: eps } },
          };
          g.replace([mean, sqd, variance, add, rsqrt, scale, mul2, mul1, sub], out, [fused]);
          return true;
        }
      }
    }
  }
  return false;
}

/** Mean of `x` over exactly its last axis, keeping it: axis -1, or rank - 1 where x's rank is known. */
function lastAxisReduction(g: View, mean: NodeDef, x: string): boolean {
  const axes = g.values(mean.input?.[1]);
  if (mean.attr?.keep_dims?.b !== true || !axes || axes.length !== 1) return false;
  return axes[0] === -1 || (axes[0] > 0 && axes[0] === (g.rank(x) ?? 0) - 1);
}

function isVector(g: View, ref: string): boolean {
  const n = g.producer(ref);
  const dims = (n?.attr?.value?.tensor as { tensorShape?: { dim?: unknown[] } } | undefined)?.tensorShape?.dim;
  return dims === undefined || dims.length === 1;
}
