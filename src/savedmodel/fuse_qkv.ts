// The query, key and value projections of an attention layer -> one MatMul, one Transpose and a
// zero-copy Split (see fuse.ts).

import { NodeDef } from '../graph/types';
import { View, floatConst, fusedOps, hasControl, intConst } from './fuse_view';

/** One projection of an attention layer: _FusedMatMul[BiasAdd] -> Reshape [B,T,C] -> Reshape [B,T,H,D] -> Transpose [B,H,T,D]. */
interface Projection {
  dense: NodeDef;
  flat: NodeDef;
  heads: NodeDef;
  transpose: NodeDef;
  w: Float32Array;
  b: Float32Array;
  wShape: [number, number];
}

/**
 * ViT attention projects the same input three times (query, key, value), and each result goes
 * through its own Reshape, Reshape and Transpose to [B, H, T, D]. TensorFlow's oneDNN build runs
 * each MatMul and Transpose as a oneDNN primitive with a cost per call beyond the arithmetic (one
 * ViT-Tiny block's three [1, 197, 3, 64] Transposes: 65 us; the one merged Transpose: 45 us,
 * measured), which at batch 1 is a visible share of a block. Rewritten:
 *   qkv = _FusedMatMul[BiasAdd](x, [Wq | Wk | Wv], [bq | bk | bv])   [B*T, 3C]
 *   Reshape [B, T, 3, H, D] -> Transpose [3, B, H, T, D] -> Split along axis 0 -> Squeeze each
 * Splitting along the first axis shares the buffer (no copy), so the three Transposes and
 * three MatMuls become one of each. Each Squeeze takes the name of the Transpose it replaces.
 */
export function fuseQkv(g: View, nodes: readonly NodeDef[]): number {
  const groups = new Map<string, Projection[]>();
  for (const t of nodes) {
    const p = t.op === 'Transpose' ? projection(g, t) : undefined;
    if (!p) continue;
    const x = p.dense.input![0];
    groups.set(x, [...(groups.get(x) ?? []), p]);
  }
  let fused = 0;
  for (const [x, ps] of groups) {
    if (ps.length !== 3) continue;
    const [C, Cp] = ps[0].wShape;
    if (ps.some((p) => p.wShape[0] !== C || p.wShape[1] !== Cp || p.b.length !== Cp)) continue;
    const shape5 = headsShape5(g, ps);
    if (!shape5) continue;
    const T = ps[0].dense.attr?.T ?? { type: 'DT_FLOAT' };
    const base = ps[0].dense.name.replace(/\/[^/]*\/[^/]*$/, '') || ps[0].dense.name;
    const name = (s: string) => g.fresh(`${base}/qkv_fused/${s}`);
    const w = new Float32Array(C * 3 * Cp);
    for (let r = 0; r < C; r++) for (let k = 0; k < 3; k++) w.set(ps[k].w.subarray(r * Cp, (r + 1) * Cp), r * 3 * Cp + k * Cp);
    const b = new Float32Array(3 * Cp);
    ps.forEach((p, k) => b.set(p.b, k * Cp));
    const wNode = floatConst(name('kernel'), w, [C, 3 * Cp]);
    const bNode = floatConst(name('bias'), b, [3 * Cp]);
    const matmul: NodeDef = { ...ps[0].dense, name: name('MatMul'), input: [x, wNode.name, bNode.name] };
    const reshape: NodeDef = { name: name('Reshape'), op: 'Reshape', input: [matmul.name, shape5.ref], attr: { T, Tshape: { type: 'DT_INT32' } } };
    const perm = intConst(name('perm'), [2, 0, 3, 1, 4], [5]);
    const transpose: NodeDef = { name: name('Transpose'), op: 'Transpose', input: [reshape.name, perm.name], attr: { T, Tperm: { type: 'DT_INT32' } } };
    const axis = intConst(name('split_axis'), [0], []);
    const split: NodeDef = { name: name('Split'), op: 'Split', input: [axis.name, transpose.name], attr: { T, num_split: { i: '3' } } };
    const added = [wNode, bNode, matmul, ...shape5.nodes, reshape, perm, transpose, axis, split];
    ps.forEach((p, k) => {
      const squeeze: NodeDef = { name: p.transpose.name, op: 'Squeeze', input: [k === 0 ? split.name : `${split.name}:${k}`], attr: { T, squeeze_dims: { list: { i: ['0'] } } } };
      g.replace([p.dense, p.flat, p.heads, p.transpose], p.transpose, k === 0 ? [...added, squeeze] : [squeeze]);
    });
    fused++;
  }
  return fused;
}

function projection(g: View, t: NodeDef): Projection | undefined {
  const perm = g.values(t.input?.[1]);
  if (!perm || Array.from(perm).join(',') !== '0,2,1,3' || hasControl(t)) return undefined;
  const heads = g.inner(t.input?.[0], 'Reshape');
  const flat = heads && g.inner(heads.input?.[0], 'Reshape');
  const dense = flat && g.inner(flat.input?.[0], '_FusedMatMul');
  if (!heads || !flat || !dense || fusedOps(dense).join(',') !== 'BiasAdd' || (dense.input ?? []).length !== 3) return undefined;
  if (dense.attr?.transpose_a?.b || dense.attr?.transpose_b?.b) return undefined;
  const wNode = g.producer(dense.input![1]);
  const shape = (wNode?.attr?.value?.tensor as { tensorShape?: { dim?: { size: string | number }[] } } | undefined)?.tensorShape?.dim?.map((d) => Number(d.size));
  const w = g.floats(dense.input![1]);
  const b = g.floats(dense.input![2]);
  if (!w || !b || !shape || shape.length !== 2 || w.length !== shape[0] * shape[1]) return undefined;
  return { dense, flat, heads, transpose: t, w, b, wShape: [shape[0], shape[1]] };
}

/**
 * The [B, T, 3, H, D] shape for the fused projection, from the per-projection [B, T, H, D] shape:
 * a constant (the same values for all three) gets a constant; a ConcatV2 ending in a constant
 * tail (Turbo's dynamic batch shapes, shared by the three) gets a ConcatV2 with 3 inserted in the tail.
 */
function headsShape5(g: View, ps: Projection[]): { ref: string; nodes: NodeDef[] } | undefined {
  const refs = ps.map((p) => p.heads.input?.[1]);
  const values = refs.map((r) => g.values(r));
  const base = ps[0].dense.name;
  if (values.every((v) => v && v.length === 4 && Array.from(v).join(',') === Array.from(values[0]!).join(','))) {
    const v = Array.from(values[0]!);
    const c = intConst(g.fresh(`${base}/qkv_fused/shape`), [v[0], v[1], 3, v[2], v[3]], [5]);
    return { ref: c.name, nodes: [c] };
  }
  if (!refs.every((r) => r === refs[0])) return undefined;
  const concat = g.producer(refs[0]);
  if (!concat || concat.op !== 'ConcatV2') return undefined;
  const inputs = (concat.input ?? []).filter((r) => !r.startsWith('^'));
  const tail = g.values(inputs[inputs.length - 2]);
  if (inputs.length < 3 || !tail || tail.length < 2) return undefined;
  const t = Array.from(tail);
  const newTail = intConst(g.fresh(`${base}/qkv_fused/shape_tail`), [...t.slice(0, -2), 3, ...t.slice(-2)], [t.length + 1]);
  const shape: NodeDef = { ...concat, name: g.fresh(`${base}/qkv_fused/shape`), input: [...inputs.slice(0, -2), newTail.name, inputs[inputs.length - 1]] };
  return { ref: shape.name, nodes: [newTail, shape] };
}
