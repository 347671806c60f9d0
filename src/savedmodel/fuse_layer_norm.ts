// LayerNorm over the last axis, as tfjs writes it, -> one _MklLayerNorm (see fuse.ts).

import { Graph } from '../graph/ir';
import { PathMatch, PathPattern, isFailure, matchTensorPath } from '../graph/match';
import { NodeDef } from '../graph/types';
import { knownValues } from '../rewrite/consts';
import { AnchoredFusion, RankOf, constDims, operandLeft, pairs, producer, readOnlyBy, sole } from './fuse_match';

interface LayerNormMatch {
  /** Removed, and the last (`out`) replaced by the fused node. */
  nodes: NodeDef[];
  out: NodeDef;
  x: string;
  gamma: string;
  beta: string;
  eps: number;
}

/**
 * tf.nn.moments + tf.nn.batch_normalization over the last axis (tfjs's and Keras-to-tfjs's LayerNorm):
 *   mean = Mean(x, -1, keep_dims)      var = Mean(SquaredDifference(x, mean), -1, keep_dims)
 *   s = Rsqrt(var + eps) * gamma       out = x * s + (beta - mean * s)
 * walked from `out` up the variance side; the mean side and x are checked against it (`check`).
 * Every Mul and AddV2 takes its operands in either order.
 */
function layerNormPattern(rank: RankOf): PathPattern {
  return {
    name: 'LayerNorm (moments + batch_normalization)',
    steps: [
      { label: 'x·s + (beta − mean·s)', ops: ['AddV2'], input: 'any', where: (n) => ((n.input ?? []).length === 2 ? undefined : `'${n.name}' has ${(n.input ?? []).length} inputs`) },
      { label: 'x·s', ops: ['Mul'], input: 'any', where: readOnlyBy(1) },
      { label: 's = rsqrt(var + eps)·gamma', ops: ['Mul'], input: 'any', where: readOnlyBy(2) },
      { label: 'rsqrt', ops: ['Rsqrt'], where: readOnlyBy(1) },
      { label: 'var + eps', ops: ['AddV2'], input: 'any', where: readOnlyBy(1), constInput: { input: 'other' } },
      { label: 'var = mean((x − mean)²)', ops: ['Mean'], where: readOnlyBy(1) },
      { label: '(x − mean)²', ops: ['SquaredDifference'], where: readOnlyBy(1) },
    ],
    check: (m, graph) => meanSide(m, graph, rank),
  };
}

/** Why the rest of the LayerNorm around a matched variance side does not fit (see layerNormPattern). */
function meanSide(m: PathMatch, graph: Graph, rank: RankOf): string | undefined {
  const [, mul1, , , , variance, sqd] = m.nodes;
  const x = operandLeft(m, 1);
  const sRef = mul1.input![m.via[1]];
  const sub = sole(graph, operandLeft(m, 0), 'Sub');
  if (!sub) return 'the other operand is not beta − mean·s';
  const [beta, mul2Ref] = sub.input ?? [];
  const mul2 = sole(graph, mul2Ref, 'Mul');
  if (!mul2 || !(mul2.input ?? []).includes(sRef)) return `'${sub.name}' does not subtract mean·s`;
  const meanRef = (mul2.input ?? []).find((r) => r !== sRef);
  const mean = sole(graph, meanRef, 'Mean', 2);
  if (!mean || mean.input?.[0] !== x) return `'${mul2.name}' does not scale the mean of x`;
  if (!lastAxisReduction(graph, mean, x, rank) || !lastAxisReduction(graph, variance, x, rank)) return 'the moments are not over the last axis of x (or its rank is unknown)';
  if (!pairs(sqd).some(([p, q]) => p === x && q === meanRef)) return `'${sqd.name}' does not read x and its mean`;
  // gamma and beta must be per-channel vectors: _MklLayerNorm takes [C] scale and shift.
  const gamma = operandLeft(m, 2);
  const gv = knownValues(graph, gamma);
  const bv = knownValues(graph, beta);
  if (!gv || !bv || gv.length !== bv.length || !isVector(graph, gamma) || !isVector(graph, beta)) return 'gamma and beta are not constant [C] vectors';
  return undefined;
}

/** Mean of `x` over exactly its last axis, keeping it: axis -1, or rank - 1 where x's rank is known. */
function lastAxisReduction(graph: Graph, mean: NodeDef, x: string, rank: RankOf): boolean {
  const axes = knownValues(graph, mean.input?.[1] ?? '');
  if (mean.attr?.keep_dims?.b !== true || !axes || axes.length !== 1) return false;
  return axes[0] === -1 || (axes[0] > 0 && axes[0] === (rank(x) ?? 0) - 1);
}

function isVector(graph: Graph, ref: string): boolean {
  const dims = constDims(producer(graph, ref));
  return dims === undefined || dims.length === 1;
}

export const layerNormFusion: AnchoredFusion<LayerNormMatch> = {
  name: 'LayerNorm',
  anchor: 'AddV2',
  match(graph, out, rank) {
    const m = matchTensorPath(graph, out.name, layerNormPattern(rank));
    if (isFailure(m)) return m.step === 'check' ? m.reason : undefined;
    const [, mul1, scale, rsqrt, add, variance, sqd] = m.nodes;
    const sub = producer(graph, operandLeft(m, 0))!;
    const mul2 = producer(graph, sub.input![1])!;
    const mean = producer(graph, mul2.input!.find((r) => r !== mul1.input![m.via[1]]))!;
    const eps = knownValues(graph, operandLeft(m, 4))![0];
    return { nodes: [mean, sqd, variance, add, rsqrt, scale, mul2, mul1, sub, out], out, x: operandLeft(m, 1), gamma: operandLeft(m, 2), beta: sub.input![0], eps };
  },
  apply(graph, m) {
    for (const n of m.nodes) if (n !== m.out) graph.removeNode(n.name);
    graph.replaceNode(m.out.name, [
      { name: m.out.name, op: '_MklLayerNorm', input: [m.x, m.gamma, m.beta], attr: { T: m.out.attr?.T ?? { type: 'DT_FLOAT' }, epsilon: { f: m.eps } } },
    ]);
  },
};
