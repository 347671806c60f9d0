// The node list the SavedModel fusions rewrite (fuse.ts): look-ups, consumer counts, ranks,
// removals and replacements, and the small helpers every fusion shares.

import { parseRef } from '../graph/ir';
import { NodeDef } from '../graph/types';

/** The values of a constant node (float32 or int32), or undefined when `name` is not a constant. */
export type ConstLookup = (name: string) => Float32Array | Int32Array | undefined;

/** The node list being rewritten: look-ups, consumer counts, removals and replacements. */
export class View {
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

export function hasControl(n: NodeDef): boolean {
  return (n.input ?? []).some((r) => r.startsWith('^'));
}

/** The two data inputs of a binary op, in both orders (Mul and AddV2 commute). */
export function pairs(n: NodeDef): [string, string][] {
  const [a, b] = n.input ?? [];
  return a !== undefined && b !== undefined && (n.input ?? []).length === 2 ? [[a, b], [b, a]] : [];
}

export const near = (v: number | undefined, want: number, tol: number) => v !== undefined && Math.abs(v - want) <= tol;

export function fusedOps(node: NodeDef): string[] {
  return (node.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('latin1'));
}

export function floatConst(name: string, values: Float32Array, shape: number[]): NodeDef {
  const tensorContent = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) }, tensorContent } } } };
}

export function intConst(name: string, values: number[], shape: number[]): NodeDef {
  const tensorContent = new Uint8Array(Int32Array.from(values).buffer);
  return { name, op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) }, tensorContent } } } };
}
