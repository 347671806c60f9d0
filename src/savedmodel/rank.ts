// Tensor ranks as far as a graph states them, for the LayerNorm fusion: a Mean over a positive
// axis is over the last one only when the input's rank is known (tensorflowjs_converter's ViTs
// reduce axis 2 of their [B, N, C] residual stream).

import { Graph, dataInputs } from '../graph/ir';
import { knownValues } from '../rewrite/consts';
import { NodeDef } from '../graph/types';
import { RankOf, constDims, producer } from './fuse_match';

/** Ops whose output has the rank of their first input. */
const SAME_RANK = new Set(['Tile', 'Transpose', 'Identity', 'TurboMerge', '_MklLayerNorm', 'Erf', 'Rsqrt', 'Softmax']);
/** Broadcasting binary ops: the larger rank of the two inputs. */
const BROADCAST = new Set(['AddV2', 'Add', 'Sub', 'Mul', 'RealDiv', 'SquaredDifference', 'BiasAdd']);
/** Deeper than any real graph's chain of rank-preserving ops; ends a walk on a malformed one. */
const MAX_DEPTH = 200;

/**
 * A function giving the rank of a tensor where the graph states it (placeholder and constant
 * shapes, Reshape targets) or it follows from an op's inputs; undefined otherwise. Memoised: for
 * one collect phase, while the graph does not change. Nodes in `claimed` (taken by a fusion
 * matched earlier in the same walk) count as unknown when first reached, as they did when the
 * pass rewrote while it walked: the SavedModels it writes stay as they were. That is also why
 * HF CLIP's encoder LayerNorms (axis 2, read through the pre-LayerNorm fused first) stay unfused;
 * counting a fused LayerNorm's output as x's rank would fuse them and change what is written.
 */
export function rankFinder(graph: Graph, claimed: ReadonlySet<string> = new Set()): RankOf {
  const ranks = new Map<string, number | undefined>();
  const rank = (ref: string | undefined, depth: number): number | undefined => {
    const n = producer(graph, ref);
    if (!n || depth > MAX_DEPTH) return undefined;
    if (claimed.has(n.name) && !ranks.has(n.name)) return undefined;
    if (ranks.has(n.name)) return ranks.get(n.name);
    ranks.set(n.name, undefined); // guards cycles
    const r = computeRank(n, depth + 1);
    ranks.set(n.name, r);
    return r;
  };
  const computeRank = (n: NodeDef, depth: number): number | undefined => {
    const inputs = dataInputs(n);
    const of = (i: number) => rank(inputs[i], depth);
    if (SAME_RANK.has(n.op)) return of(0);
    if (BROADCAST.has(n.op)) {
      const a = of(0);
      const b = of(1);
      return a === undefined || b === undefined ? undefined : Math.max(a, b);
    }
    switch (n.op) {
      case 'Placeholder':
        return n.attr?.shape?.shape?.unknownRank ? undefined : n.attr?.shape?.shape?.dim?.length;
      case 'Const':
        return constDims(n)?.length ?? 0;
      case 'Reshape':
        return length1d(graph, inputs[1], depth);
      case 'ConcatV2':
        // Every piece has the concatenation's rank: the first one known will do.
        for (let i = 0; i < inputs.length - 1; i++) {
          const r = of(i);
          if (r !== undefined) return r;
        }
        return undefined;
      case 'Mean':
        return n.attr?.keep_dims?.b ? of(0) : undefined;
      default:
        return undefined;
    }
  };
  return (ref) => rank(ref, 0);
}

/** The number of elements of a 1-D int tensor built from constants, slices of a Shape, Pack and ConcatV2. */
function length1d(graph: Graph, ref: string | undefined, depth: number): number | undefined {
  const n = producer(graph, ref);
  if (!n || depth > MAX_DEPTH) return undefined;
  const inputs = dataInputs(n);
  switch (n.op) {
    case 'Const': {
      const dims = constDims(n);
      return dims?.length === 1 ? dims[0] : undefined;
    }
    case 'Pack':
      return inputs.length;
    case 'GatherV2': {
      // Elements of a shape vector picked by constant indices (tf.tensordot's shape arithmetic).
      const idx = producer(graph, inputs[1]);
      const dims = constDims(idx);
      return idx?.op === 'Const' && dims?.length === 1 ? dims[0] : undefined;
    }
    case 'ConcatV2': {
      let total = 0;
      for (const r of inputs.slice(0, -1)) {
        const l = length1d(graph, r, depth + 1);
        if (l === undefined) return undefined;
        total += l;
      }
      return total;
    }
    case 'StridedSlice': {
      const masks = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'];
      if (masks.some((m) => Number(n.attr?.[m]?.i ?? 0) !== 0)) return undefined;
      const [b, e, s] = [1, 2, 3].map((i) => (producer(graph, inputs[i]) ? knownValues(graph, inputs[i]) : undefined));
      if (!b || !e || !s || b.length !== 1 || e.length !== 1 || s[0] !== 1 || b[0] < 0 || e[0] < b[0]) return undefined;
      return e[0] - b[0];
    }
    default:
      return undefined;
  }
}
