// What the SavedModel fusions (fuse.ts) share: the Fusion shape every pass has, the "read only
// inside the subgraph" condition that makes a rewrite safe, and the constants they write.
//
// A fusion removes a subgraph's inner nodes, so each must be read by the subgraph alone: by
// exactly the data inputs the pattern follows, and by no control input. Every op walked (Mul,
// AddV2, Mean, Reshape, _FusedMatMul, ...) has one output, so a node's readers are its output's.

import { Graph, dataInputs, parseRef } from '../graph/ir';
import { PathMatch, Step } from '../graph/match';
import { NodeDef } from '../graph/types';

/** What a fusion did: how many subgraphs it rewrote, and why candidates that came close were left alone. */
export interface FusionCount {
  fused: number;
  missed: string[];
}

/** The rank of a tensor where the graph states it (rank.ts). */
export type RankOf = (ref: string | undefined) => number | undefined;

/**
 * A fusion anchored at the last node of its subgraph (LayerNorm, GELU): `match` looks at one node
 * of op `anchor`, `apply` rewrites a match once every match is known.
 */
export interface AnchoredFusion<M extends { nodes: readonly NodeDef[] }> {
  name: string;
  anchor: string;
  /** The match at `node`; a string says why a near candidate failed; undefined: not a candidate. */
  match(graph: Graph, node: NodeDef, rank: RankOf): M | string | undefined;
  /** Rewrites one match: `nodes` are the ones it removes or replaces. */
  apply(graph: Graph, match: M): void;
}

export function hasControlInput(n: NodeDef): boolean {
  return (n.input ?? []).some((r) => r.startsWith('^'));
}

/** Step condition: the node is read `k` times (data inputs, no control input) and has no control input itself. */
export function readOnlyBy(k: number): NonNullable<Step['where']> {
  return (n, graph) => {
    if (hasControlInput(n)) return `'${n.name}' has a control input`;
    const reads = graph.readCount(n.name);
    return reads === k ? undefined : `'${n.name}' is read ${reads} times, not ${k}`;
  };
}

/** The node producing output 0 of `ref`. */
export function producer(graph: Graph, ref: string | undefined): NodeDef | undefined {
  if (ref === undefined) return undefined;
  const p = parseRef(ref);
  return p.control || p.output !== 0 ? undefined : graph.tryNode(p.node);
}

/** The producer of `ref` when it is an `op` read only inside the subgraph (`k` times; see readOnlyBy). */
export function sole(graph: Graph, ref: string | undefined, op: string, k = 1): NodeDef | undefined {
  const n = producer(graph, ref);
  return n && n.op === op && readOnlyBy(k)(n, graph) === undefined ? n : undefined;
}

/** The operand of matched binary node `k` that the walk did not follow. */
export function operandLeft(m: PathMatch, k: number): string {
  return dataInputs(m.nodes[k])[1 - m.via[k]];
}

/** The two inputs of a binary op, in both orders (Mul and AddV2 commute); none unless it has exactly two. */
export function pairs(n: NodeDef): [string, string][] {
  const [a, b] = n.input ?? [];
  return a !== undefined && b !== undefined && (n.input ?? []).length === 2 ? [[a, b], [b, a]] : [];
}

/** The shape of a Const node as its attr states it. */
export function constDims(n: NodeDef | undefined): number[] | undefined {
  const dims = (n?.attr?.value?.tensor as { tensorShape?: { dim?: { size: string | number }[] } } | undefined)?.tensorShape?.dim;
  return dims?.map((d) => Number(d.size));
}

/**
 * A Const holding its value inline. The SavedModel stores every constant in the GraphDef, so the
 * ones a fusion makes (the concatenated q/k/v kernel) never need a weight-shard entry.
 */
export function floatConst(name: string, values: Float32Array, shape: number[]): NodeDef {
  const tensorContent = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) }, tensorContent } } } };
}

export function intConst(name: string, values: number[], shape: number[]): NodeDef {
  const tensorContent = new Uint8Array(Int32Array.from(values).buffer);
  return { name, op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) }, tensorContent } } } };
}
