// Rewrites for the SavedModel writer that let TensorFlow run a ViT with fewer, fused kernels.
//
// A tfjs graph model spells LayerNorm and exact GELU out in elementwise ops (tf.nn.moments +
// batch_normalization: Mean, SquaredDifference, Mean, AddV2, Rsqrt, Mul x3, Sub, AddV2; GELU:
// Mul, Mul, Erf, AddV2, Mul), and tfjs puts a Reshape between each dense layer's MatMul and its
// activation. Run in one TensorFlow session that costs a kernel launch and a pass over memory per
// op, which at ViT-Tiny batch 1 (197 x 192 activations) is a measurable share of the run.
// TensorFlow 2.12's grappler fuses neither as tfjs writes them (checked in the optimized
// partition graph), so this pass rewrites them:
//  - LayerNorm over the last axis -> one `_MklLayerNorm(x, gamma, beta)`. The op is oneDNN's
//    layer normalization; its CPU kernel is registered in every x86-64 TensorFlow build with
//    oneDNN (tfjs-node's libtensorflow 2.12, the tensorflow / tensorflow-cpu wheels) and runs
//    whether or not TF_ENABLE_ONEDNN_OPTS rewrites are on. It is the op grappler's remapper itself
//    emits for Keras LayerNormalization (whose FusedBatchNormV3 form tfjs graphs do not have).
//  - dense + exact GELU -> MatMul, BiasAdd, then GELU in exactly the form grappler's remapper
//    matches (`x * ((erf(x * 1/sqrt(2)) + 1) * 0.5)` on the 2-D BiasAdd output), then the
//    Reshape. With oneDNN on (TensorFlow's default on x86) the remapper turns the whole chain into
//    one `_FusedMatMul[BiasAdd, GeluExact]`; with it off the ops run as before. This order of
//    multiplications differs from tfjs's `(0.5 * x) * (1 + erf(x / sqrt(2)))` only by exact
//    power-of-two scalings, so unfused the values are bit-identical.
//  - the query, key and value projections of an attention layer -> one MatMul over the
//    concatenated weights and one Transpose (fuseQkv below).
// Only subgraphs whose intermediate values have no other consumer are rewritten; everything else
// passes through. The fused node takes the name of the subgraph's last node, so consumers stay wired.

import { parseRef } from '../graph/ir';
import { AttrValue, NodeDef } from '../graph/types';

export interface FuseOptions {
  /** Query/key/value projections of one attention layer -> one MatMul, one Transpose, a Split (default true). */
  qkv?: boolean;
  /** LayerNorm subgraphs -> _MklLayerNorm (default true). */
  layerNorm?: boolean;
  /** dense + exact-GELU subgraphs -> the form grappler fuses into _FusedMatMul (default true). */
  gelu?: boolean;
}

/** The values of a constant node (float32 or int32), or undefined when `name` is not a constant. */
export type ConstLookup = (name: string) => Float32Array | Int32Array | undefined;

export interface FuseResult {
  nodes: NodeDef[];
  layerNorms: number;
  gelus: number;
  qkv: number;
}

export function fuseForTensorFlow(nodes: readonly NodeDef[], constValue: ConstLookup, opts: FuseOptions = {}): FuseResult {
  const g = new View(nodes, constValue);
  let layerNorms = 0;
  let gelus = 0;
  const qkv = opts.qkv === false ? 0 : fuseQkv(g, nodes);
  for (const node of nodes) {
    if (!g.isLive(node)) continue;
    if (opts.layerNorm !== false && node.op === 'AddV2' && fuseLayerNorm(g, node)) layerNorms++;
    else if (opts.gelu !== false && node.op === 'Mul' && fuseGelu(g, node)) gelus++;
  }
  return { nodes: g.result(), layerNorms, gelus, qkv };
}

/** The node list being rewritten: look-ups, consumer counts, removals and replacements. */
class View {
  private readonly byName = new Map<string, NodeDef>();
  private readonly uses = new Map<string, number>();
  private readonly removed = new Set<string>();
  /** Nodes that take the place of a node of the same name, or are inserted before it. */
  private readonly replaced = new Map<string, NodeDef[]>();
  private readonly ranks = new Map<string, number | undefined>();
  private readonly taken = new Set<string>();

  constructor(
    private readonly nodes: readonly NodeDef[],
    private readonly constValue: ConstLookup,
  ) {
    for (const n of nodes) this.byName.set(n.name, n);
    for (const n of nodes) for (const r of n.input ?? []) this.uses.set(parseRef(r).node, (this.uses.get(parseRef(r).node) ?? 0) + 1);
  }

  /** The producer of data input `ref` when it is output 0 of a live node. */
  producer(ref: string | undefined): NodeDef | undefined {
    if (ref === undefined || ref.startsWith('^')) return undefined;
    const p = parseRef(ref);
    if (p.output !== 0 || this.removed.has(p.node)) return undefined;
    return this.byName.get(p.node);
  }

  /** The producer of `ref` if it is `op`, output 0, and read only by nodes of the subgraph (`uses` times). */
  inner(ref: string | undefined, op: string, uses = 1): NodeDef | undefined {
    const n = this.producer(ref);
    return n && n.op === op && this.uses.get(n.name) === uses && !hasControl(n) ? n : undefined;
  }

  scalar(ref: string | undefined): number | undefined {
    const n = this.producer(ref);
    if (!n || n.op !== 'Const') return undefined;
    // Shape first: looking up a constant decodes (copies) its weight, and most are matrices.
    const dims = (n.attr?.value?.tensor as { tensorShape?: { dim?: { size: string | number }[] } } | undefined)?.tensorShape?.dim;
    if (dims && dims.some((d) => Number(d.size) !== 1)) return undefined;
    const v = this.constValue(n.name);
    return v && v.length === 1 ? v[0] : undefined;
  }

  values(ref: string | undefined): ArrayLike<number> | undefined {
    const n = this.producer(ref);
    return n && n.op === 'Const' ? this.constValue(n.name) : undefined;
  }

  floats(ref: string | undefined): Float32Array | undefined {
    const v = this.values(ref);
    return v instanceof Float32Array ? v : undefined;
  }

  isLive(n: NodeDef): boolean {
    return !this.removed.has(n.name) && !this.replaced.has(n.name);
  }

  /**
   * The rank of `ref`'s tensor where the graph states it (placeholder and constant shapes, Reshape
   * targets) or it follows from an op's inputs; undefined otherwise. Enough to know the rank of a
   * ViT's residual stream, which a Mean over a positive axis needs.
   */
  rank(ref: string | undefined, depth = 0): number | undefined {
    const n = this.producer(ref);
    if (!n || depth > 200) return undefined;
    const cached = this.ranks.get(n.name);
    if (cached !== undefined || this.ranks.has(n.name)) return cached;
    this.ranks.set(n.name, undefined); // guards cycles
    const r = this.computeRank(n, depth + 1);
    this.ranks.set(n.name, r);
    return r;
  }

  private computeRank(n: NodeDef, depth: number): number | undefined {
    const inputs = (n.input ?? []).filter((r) => !r.startsWith('^'));
    const of = (i: number) => this.rank(inputs[i], depth);
    switch (n.op) {
      case 'Placeholder':
        return n.attr?.shape?.shape?.unknownRank ? undefined : n.attr?.shape?.shape?.dim?.length;
      case 'Const':
        return (n.attr?.value?.tensor as { tensorShape?: { dim?: unknown[] } } | undefined)?.tensorShape?.dim?.length ?? 0;
      case 'Reshape':
        return this.length1d(inputs[1], depth);
      case 'AddV2':
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'RealDiv':
      case 'SquaredDifference':
      case 'BiasAdd': {
        const a = of(0);
        const b = of(1);
        return a === undefined || b === undefined ? undefined : Math.max(a, b);
      }
      case 'ConcatV2': {
        // Every piece has the concatenation's rank: the first one known will do.
        for (let i = 0; i < inputs.length - 1; i++) {
          const r = of(i);
          if (r !== undefined) return r;
        }
        return undefined;
      }
      case 'Tile':
      case 'Transpose':
      case 'Identity':
      case 'TurboMerge':
      case '_MklLayerNorm':
      case 'Erf':
      case 'Rsqrt':
      case 'Softmax':
        return of(0);
      case 'Mean':
        return n.attr?.keep_dims?.b ? of(0) : undefined;
      default:
        return undefined;
    }
  }

  /** The number of elements of a 1-D int tensor built from constants, slices of a Shape, Pack and ConcatV2. */
  private length1d(ref: string | undefined, depth: number): number | undefined {
    const n = this.producer(ref);
    if (!n || depth > 200) return undefined;
    const inputs = (n.input ?? []).filter((r) => !r.startsWith('^'));
    switch (n.op) {
      case 'Const': {
        const dims = (n.attr?.value?.tensor as { tensorShape?: { dim?: { size: string | number }[] } } | undefined)?.tensorShape?.dim;
        return dims?.length === 1 ? Number(dims[0].size) : undefined;
      }
      case 'Pack':
        return inputs.length;
      case 'GatherV2': {
        // Elements of a shape vector picked by constant indices (tf.tensordot's shape arithmetic).
        const idx = this.producer(inputs[1]);
        const dims = (idx?.attr?.value?.tensor as { tensorShape?: { dim?: { size: string | number }[] } } | undefined)?.tensorShape?.dim;
        return idx?.op === 'Const' && dims?.length === 1 ? Number(dims[0].size) : undefined;
      }
      case 'ConcatV2': {
        let total = 0;
        for (const r of inputs.slice(0, -1)) {
          const l = this.length1d(r, depth + 1);
          if (l === undefined) return undefined;
          total += l;
        }
        return total;
      }
      case 'StridedSlice': {
        const masks = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'];
        if (masks.some((m) => Number(n.attr?.[m]?.i ?? 0) !== 0)) return undefined;
        const [b, e, s] = [1, 2, 3].map((i) => this.values(inputs[i]));
        if (!b || !e || !s || b.length !== 1 || e.length !== 1 || s[0] !== 1 || b[0] < 0 || e[0] < b[0]) return undefined;
        return e[0] - b[0];
      }
      default:
        return undefined;
    }
  }

  replace(remove: NodeDef[], last: NodeDef, by: NodeDef[]): void {
    for (const n of remove) this.removed.add(n.name);
    this.replaced.set(last.name, by);
  }

  /** A node name not used in the graph, from `base`. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.byName.has(name) || this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    return name;
  }

  /**
   * The rewritten node list. Constants whose every consumer was fused away are dropped (the
   * separate q/k/v weights once the concatenated one replaces them), so no weight is stored twice.
   */
  result(): NodeDef[] {
    const out: NodeDef[] = [];
    for (const n of this.nodes) {
      const by = this.replaced.get(n.name);
      if (by) out.push(...by);
      else if (!this.removed.has(n.name)) out.push(n);
    }
    const used = new Set<string>();
    for (const n of out) for (const r of n.input ?? []) used.add(parseRef(r).node);
    return out.filter((n) => n.op !== 'Const' || used.has(n.name) || !this.uses.get(n.name));
  }
}

function hasControl(n: NodeDef): boolean {
  return (n.input ?? []).some((r) => r.startsWith('^'));
}

/** The two data inputs of a binary op, in both orders (Mul and AddV2 commute). */
function pairs(n: NodeDef): [string, string][] {
  const [a, b] = n.input ?? [];
  return a !== undefined && b !== undefined && (n.input ?? []).length === 2 ? [[a, b], [b, a]] : [];
}

const near = (v: number | undefined, want: number, tol: number) => v !== undefined && Math.abs(v - want) <= tol;

/**
 * tf.nn.moments + tf.nn.batch_normalization over the last axis (tfjs's and Keras-to-tfjs's LayerNorm):
 *   mean = Mean(x, -1, keep_dims)      var = Mean(SquaredDifference(x, mean), -1, keep_dims)
 *   s = Rsqrt(var + eps) * gamma       out = x * s + (beta - mean * s)
 */
function fuseLayerNorm(g: View, out: NodeDef): boolean {
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

const SQRT_HALF = Math.SQRT1_2;

/**
 * Exact GELU on a dense layer's output, as tfjs writes it:
 *   out = Mul(Mul(0.5, y), AddV2(1, Erf(Mul(y, 1/sqrt(2)))))
 * where y = Reshape(_FusedMatMul[BiasAdd](a, w, b)), rewritten to
 *   h = BiasAdd(MatMul(a, w), b);  out' = Mul(Mul(AddV2(Erf(Mul(h, 1/sqrt(2))), 1), 0.5), h);  out = Reshape(out')
 */
function fuseGelu(g: View, out: NodeDef): boolean {
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

function fusedOps(node: NodeDef): string[] {
  return (node.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('latin1'));
}

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
function fuseQkv(g: View, nodes: readonly NodeDef[]): number {
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

function floatConst(name: string, values: Float32Array, shape: number[]): NodeDef {
  const tensorContent = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) }, tensorContent } } } };
}

function intConst(name: string, values: number[], shape: number[]): NodeDef {
  const tensorContent = new Uint8Array(Int32Array.from(values).buffer);
  return { name, op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) }, tensorContent } } } };
}
