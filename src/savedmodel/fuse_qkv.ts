// The query, key and value projections of an attention layer -> one MatMul, one Transpose and a
// zero-copy Split (see fuse.ts).

import { Graph } from '../graph/ir';
import { PathPattern, describeFailures, isFailure, matchTensorPath } from '../graph/match';
import { NodeDef } from '../graph/types';
import { knownValues } from '../rewrite/consts';
import { FusionCount, constDims, floatConst, hasControlInput, intConst, producer, readOnlyBy } from './fuse_match';
import { fusedOps } from './split_fused';

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

/** The [B, T, 3, H, D] shape of the fused projection (see shapePlan). */
type ShapePlan = { constant: number[] } | { concat: NodeDef; inputs: string[]; tail: number[] };

interface QkvMatch {
  /** The tensor all three project. */
  x: string;
  /** q, k, v in graph order. */
  projections: Projection[];
  shape: ShapePlan;
}

const PROJECTION: PathPattern = {
  name: 'dense → Reshape [B,T,C] → Reshape [B,T,H,D] → Transpose [0,2,1,3]',
  steps: [
    { label: 'head transpose', ops: ['Transpose'], constInput: { input: 1, equals: [0, 2, 1, 3] }, where: (n) => (hasControlInput(n) ? `'${n.name}' has a control input` : undefined) },
    { label: 'head reshape', ops: ['Reshape'], where: readOnlyBy(1) },
    { label: 'flat reshape', ops: ['Reshape'], where: readOnlyBy(1) },
    {
      label: 'dense + bias',
      ops: ['_FusedMatMul'],
      where: (n, graph) =>
        readOnlyBy(1)(n, graph) ??
        (fusedOps(n).join(',') !== 'BiasAdd' || (n.input ?? []).length !== 3 ? `'${n.name}' fuses [${fusedOps(n)}], not BiasAdd alone` : undefined) ??
        (n.attr?.transpose_a?.b || n.attr?.transpose_b?.b ? `'${n.name}' transposes an operand` : undefined),
    },
  ],
};

function projection(graph: Graph, t: NodeDef): Projection | string {
  const m = matchTensorPath(graph, t.name, PROJECTION);
  if (isFailure(m)) return describeFailures([m]);
  const [transpose, heads, flat, dense] = m.nodes;
  const shape = constDims(producer(graph, dense.input![1]));
  const w = knownValues(graph, dense.input![1]);
  const b = knownValues(graph, dense.input![2]);
  if (!(w instanceof Float32Array) || !(b instanceof Float32Array) || !shape || shape.length !== 2 || w.length !== shape[0] * shape[1]) return `'${dense.name}' has no constant float [C, C'] kernel and bias`;
  return { dense, flat, heads, transpose, w, b, wShape: [shape[0], shape[1]] };
}

/**
 * The [B, T, 3, H, D] shape for the fused projection, from the per-projection [B, T, H, D] shape:
 * a constant (the same values for all three) gives a constant; a ConcatV2 ending in a constant
 * tail (Turbo's dynamic batch shapes, shared by the three) gives a ConcatV2 with 3 inserted in the tail.
 */
function shapePlan(graph: Graph, ps: Projection[]): ShapePlan | undefined {
  const refs = ps.map((p) => p.heads.input?.[1]);
  const values = refs.map((r) => (producer(graph, r) ? knownValues(graph, r!) : undefined));
  if (values.every((v) => v && v.length === 4 && Array.from(v).join(',') === Array.from(values[0]!).join(','))) return { constant: Array.from(values[0]!) };
  if (!refs.every((r) => r === refs[0])) return undefined;
  const concat = producer(graph, refs[0]);
  if (!concat || concat.op !== 'ConcatV2') return undefined;
  const inputs = (concat.input ?? []).filter((r) => !r.startsWith('^'));
  const tailRef = inputs[inputs.length - 2];
  const tail = tailRef !== undefined && producer(graph, tailRef) ? knownValues(graph, tailRef) : undefined;
  if (inputs.length < 3 || !tail || tail.length < 2) return undefined;
  return { concat, inputs, tail: Array.from(tail) };
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
export function fuseQkv(graph: Graph): FusionCount {
  const { matches, missed } = collectQkv(graph);
  for (const m of matches) applyQkv(graph, m);
  return { fused: matches.length, missed };
}

/** Projections grouped by the tensor they read (graph order), each group of three checked. */
function collectQkv(graph: Graph): { matches: QkvMatch[]; missed: string[] } {
  const groups = new Map<string, Projection[]>();
  for (const t of graph.nodes.filter((n) => n.op === 'Transpose')) {
    const p = projection(graph, t);
    if (typeof p === 'string') continue;
    const x = p.dense.input![0];
    groups.set(x, [...(groups.get(x) ?? []), p]);
  }
  const matches: QkvMatch[] = [];
  const missed: string[] = [];
  for (const [x, ps] of groups) {
    const why = groupProblem(graph, ps);
    if (typeof why === 'string') missed.push(`${x}: ${why}`);
    else matches.push({ x, projections: ps, shape: why });
  }
  return { matches, missed };
}

/** Rewrites one group: the new nodes go where q's Transpose stood, each Squeeze where its Transpose did. */
function applyQkv(graph: Graph, m: QkvMatch): void {
  const ps = m.projections;
  const [C, Cp] = ps[0].wShape;
  const T = ps[0].dense.attr?.T ?? { type: 'DT_FLOAT' };
  const reserved = new Set<string>();
  const fresh = (base: string) => {
    const name = graph.uniqueName(base, reserved);
    reserved.add(name);
    return name;
  };
  const shape5 = buildShape(ps[0].dense.name, m.shape, fresh);
  const base = ps[0].dense.name.replace(/\/[^/]*\/[^/]*$/, '') || ps[0].dense.name;
  const name = (s: string) => fresh(`${base}/qkv_fused/${s}`);
  const w = new Float32Array(C * 3 * Cp);
  for (let r = 0; r < C; r++) for (let k = 0; k < 3; k++) w.set(ps[k].w.subarray(r * Cp, (r + 1) * Cp), r * 3 * Cp + k * Cp);
  const b = new Float32Array(3 * Cp);
  ps.forEach((p, k) => b.set(p.b, k * Cp));
  const wNode = floatConst(name('kernel'), w, [C, 3 * Cp]);
  const bNode = floatConst(name('bias'), b, [3 * Cp]);
  const matmul: NodeDef = { ...ps[0].dense, name: name('MatMul'), input: [m.x, wNode.name, bNode.name] };
  const reshape: NodeDef = { name: name('Reshape'), op: 'Reshape', input: [matmul.name, shape5.ref], attr: { T, Tshape: { type: 'DT_INT32' } } };
  const perm = intConst(name('perm'), [2, 0, 3, 1, 4], [5]);
  const transpose: NodeDef = { name: name('Transpose'), op: 'Transpose', input: [reshape.name, perm.name], attr: { T, Tperm: { type: 'DT_INT32' } } };
  const axis = intConst(name('split_axis'), [0], []);
  const split: NodeDef = { name: name('Split'), op: 'Split', input: [axis.name, transpose.name], attr: { T, num_split: { i: '3' } } };
  const added = [wNode, bNode, matmul, ...shape5.nodes, reshape, perm, transpose, axis, split];
  for (const p of ps) for (const n of [p.dense, p.flat, p.heads]) graph.removeNode(n.name);
  ps.forEach((p, k) => {
    const squeeze: NodeDef = { name: p.transpose.name, op: 'Squeeze', input: [k === 0 ? split.name : `${split.name}:${k}`], attr: { T, squeeze_dims: { list: { i: ['0'] } } } };
    graph.replaceNode(p.transpose.name, k === 0 ? [...added, squeeze] : [squeeze]);
  });
}

/** Why three projections of one tensor cannot be fused, or the fused shape they need. */
function groupProblem(graph: Graph, ps: Projection[]): ShapePlan | string {
  if (ps.length !== 3) return `${ps.length} projections, not q, k and v`;
  const [C, Cp] = ps[0].wShape;
  if (ps.some((p) => p.wShape[0] !== C || p.wShape[1] !== Cp || p.b.length !== Cp)) return 'the three kernels differ in shape';
  return shapePlan(graph, ps) ?? 'the three head shapes are neither one constant nor one ConcatV2 with a constant tail';
}

/** The shape nodes of `plan`, named from `base` (the first projection's dense layer). */
function buildShape(base: string, plan: ShapePlan, fresh: (base: string) => string): { ref: string; nodes: NodeDef[] } {
  if ('constant' in plan) {
    const v = plan.constant;
    const c = intConst(fresh(`${base}/qkv_fused/shape`), [v[0], v[1], 3, v[2], v[3]], [5]);
    return { ref: c.name, nodes: [c] };
  }
  const { concat, inputs, tail: t } = plan;
  const newTail = intConst(fresh(`${base}/qkv_fused/shape_tail`), [...t.slice(0, -2), 3, ...t.slice(-2)], [t.length + 1]);
  const shape: NodeDef = { ...concat, name: fresh(`${base}/qkv_fused/shape`), input: [...inputs.slice(0, -2), newTail.name, inputs[inputs.length - 1]] };
  return { ref: shape.name, nodes: [newTail, shape] };
}
