// dense + exact GELU, as tfjs writes it, -> the form grappler fuses into _FusedMatMul[BiasAdd, GeluExact] (see fuse.ts).

import { AttrValue, NodeDef } from '../graph/types';
import { View, fusedOps, near, pairs } from './fuse_view';

const SQRT_HALF = Math.SQRT1_2;

/**
 * Exact GELU on a dense layer's output, as tfjs writes it:
 *   out = Mul(Mul(0.5, y), AddV2(1, Erf(Mul(y, 1/sqrt(2)))))
 * where y = Reshape(_FusedMatMul[BiasAdd](a, w, b)), rewritten to
 *   h = BiasAdd(MatMul(a, w), b);  out' = Mul(Mul(AddV2(Erf(Mul(h, 1/sqrt(2))), 1), 0.5), h);  out = Reshape(out')
 */
export function fuseGelu(g: View, out: NodeDef): boolean {
  for (const [p, q] of pairs(out)) {
    const half = g.inner(p, 'Mul');
    const plus = g.inner(q, 'AddV2');
    if (!half || !plus) continue;
    for (const [halfRef, y] of pairs(half)) {
      if (!near(g.scalar(halfRef), 0.5, 0)) continue;
      for (const [oneRef, erfRef] of pairs(plus)) {
        const erf = g.inner(erfRef, 'Erf');
        const scaled = erf && g.inner(erf.input?.[0], 'Mul');
        if (!near(g.scalar(oneRef), 1, 0) || !scaled) continue;
        const c = pairs(scaled).find(([v, k]) => v === y && near(g.scalar(k), SQRT_HALF, 1e-6));
        if (!c) continue;
        const reshape = g.inner(y, 'Reshape', 2);
        const dense = reshape && g.inner(reshape.input?.[0], '_FusedMatMul');
        if (!reshape || !dense || fusedOps(dense).join(',') !== 'BiasAdd') continue;
        const [a, w, bias] = dense.input ?? [];
        if (bias === undefined || (dense.input ?? []).length !== 3) continue;
        const T = dense.attr?.T ?? { type: 'DT_FLOAT' };
        const pick = (keys: string[]) => Object.fromEntries(keys.filter((k) => dense.attr?.[k] !== undefined).map((k) => [k, dense.attr![k]])) as Record<string, AttrValue>;
        const base = dense.name;
        const n = (suffix: string, op: string, input: string[], attr: Record<string, AttrValue> = {}): NodeDef => ({ name: `${base}/gelu_fusable/${suffix}`, op, input, attr: { T, ...attr } });
        const matmul = n('MatMul', 'MatMul', [a, w], pick(['transpose_a', 'transpose_b']));
        const biasAdd = n('BiasAdd', 'BiasAdd', [matmul.name, bias]);
        const mulC = n('mul_sqrt_half', 'Mul', [biasAdd.name, c[1]]);
        const erfN = n('erf', 'Erf', [mulC.name]);
        const addOne = n('add_one', 'AddV2', [erfN.name, oneRef]);
        const mulHalf = n('mul_half', 'Mul', [addOne.name, halfRef]);
        const gelu = n('gelu', 'Mul', [mulHalf.name, biasAdd.name]);
        const back: NodeDef = { ...reshape, name: out.name, input: [gelu.name, ...(reshape.input ?? []).slice(1)] };
        g.replace([dense, reshape, half, scaled, erf, plus], out, [matmul, biasAdd, mulC, erfN, addOne, mulHalf, gelu, back]);
        return true;
      }
    }
  }
  return false;
}
