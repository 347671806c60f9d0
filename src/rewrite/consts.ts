// Constant values as the rewriter sees them. tensorflowjs_converter stores every Const (weights
// and small shape/axis constants alike) in the weight shards, so a topology read without its
// shards (readModelJsonOnly) knows each constant's shape and dtype but not its value. Matchers
// must tell "known, and not what we look for" apart from "unknown".

import { Graph, parseRef, storedByteLength } from '../graph/ir';

export function isConst(graph: Graph, ref: string): boolean {
  return graph.tryNode(ref)?.op === 'Const';
}

/** Values of a Const whose bytes are present; undefined for non-constants and for unknown values. */
export function knownValues(graph: Graph, ref: string): Float32Array | Int32Array | undefined {
  const node = graph.tryNode(ref);
  if (node?.op !== 'Const') return undefined;
  const w = graph.weights.get(node.name);
  if (!w || w.bytes.byteLength !== storedByteLength(w.spec)) return undefined;
  return graph.constValues(node.name);
}

/** A Const whose value is not available (topology without shards). */
export function isUnknownConst(graph: Graph, ref: string): boolean {
  return isConst(graph, ref) && knownValues(graph, ref) === undefined;
}

/** Known value of a scalar (or one-element) Const. */
export function knownScalar(graph: Graph, ref: string): number | undefined {
  const v = knownValues(graph, ref);
  return v && v.length === 1 ? v[0] : undefined;
}

/** Shape of a Const from the weights manifest (known even without the shards). */
export function constShape(graph: Graph, ref: string): number[] | undefined {
  const node = graph.tryNode(ref);
  if (node?.op !== 'Const') return undefined;
  return graph.weights.get(parseRef(ref).node)?.spec.shape;
}
