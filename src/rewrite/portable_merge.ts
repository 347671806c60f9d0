// --portable: TurboMerge and TurboPropAttnBias replaced by standard TensorFlow ops, for runtimes
// that cannot load our op library (TF Serving, Python TF, any GraphDef consumer) and for tfjs
// without registerTurboOps. A ViT's token count per block is fixed by its input size, so the
// plan's counts make every index vector a constant; only the batch stays dynamic.
//
// The same steps as src/turbo/merge.ts (docs/ALGORITHM.md), in float32 like the official code:
//   unit metric → sources (even positions ≥ p) vs destinations (odd) → cosine scores (BatchMatMul)
//   → R = Max, dst = ArgMax (first index on ties) → E = R − c·clsAttn[src] → TopKV2 (stable: lower
//   index first on ties) → the r best sources merge into their dst; the others keep their order
//   (Cumsum) → dest per token → M = [dest == o] → x' = M·(x·size) / M·size (the official
//   merge_wavg), size' = M·size; with merge_mode MLERP, merged rows rescaled (mlerpInStandardOps).
// Comparisons are Equal + Cast rather than OneHot: tfjs-wasm's OneHot ignores the float dtype.

import { Graph, formatRef } from '../graph/ir';
import { TfBuilder } from '../graph/tf_builder';
import { NodeDef } from '../graph/types';
import { OptionsError } from '../errors';
import { MERGE_MODES, MERGE_SCORES, TurboMerge, TurboPropAttnBias, decodeMergeAttrs } from '../ops/kernel_names';
import { TURBO_OPS } from '../ops/op_sets';
import { effectiveR, mergeWeight } from '../turbo/schedule';

export interface StandardOpsReport {
  merges: number;
  biases: number;
}

/** Replaces every Turbo op by standard ops. `tokensIn` maps a TurboMerge node to the tokens it receives. */
export function replaceTurboOpsWithStandardOps(graph: Graph, tokensIn: Map<string, number>): StandardOpsReport {
  const tf = new TfBuilder(graph);
  let merges = 0;
  let biases = 0;
  for (const node of [...graph.nodes]) {
    if (node.op === TurboMerge) {
      const n = tokensIn.get(node.name);
      if (n === undefined) throw new Error(`no token count planned for '${node.name}'`);
      replaceOutputs(graph, node, mergeInStandardOps(tf, graph, node, n));
      merges++;
    } else if (node.op === TurboPropAttnBias) {
      const base = `${node.name}/lowered`;
      const log = tf.unary(`${base}/log`, 'Log', node.input![0]);
      // [B, N] → [B, 1, 1, N]: broadcast over heads and query positions.
      const bias = tf.expandDims(`${base}/bias`, tf.expandDims(`${base}/keys`, log, 1), 1);
      replaceOutputs(graph, node, [bias]);
      biases++;
    }
  }
  // --portable promises a graph without our op library: a Turbo op this pass cannot express (an
  // op added later) must stop the conversion, not ship.
  const left = graph.nodes.find((n) => TURBO_OPS.has(n.op));
  if (left) throw new Error(`--portable has no standard-op form of ${left.op} (node '${left.name}')`);
  return { merges, biases };
}

function replaceOutputs(graph: Graph, node: NodeDef, outputs: (string | undefined)[]): void {
  outputs.forEach((ref, i) => {
    const uses = graph.consumers(node.name).filter(({ node: c, inputIndex }) => {
      const r = c.input![inputIndex];
      return r === formatRef(node.name, i) || (i === 0 && r === `${node.name}:0`);
    });
    if (uses.length && !ref) throw new Error(`'${node.name}' output ${i} is used but has no lowering`);
    for (const { node: c, inputIndex } of uses) graph.setInput(c, inputIndex, ref!);
  });
  graph.removeNode(node.name);
}

/** [x', size', assignment] for one TurboMerge receiving `n` tokens. */
function mergeInStandardOps(tf: TfBuilder, graph: Graph, node: NodeDef, n: number): [string, string, string | undefined] {
  const [x, metric, clsAttn, sizeIn] = node.input!.filter((r) => !r.startsWith('^'));
  const a = decodeMergeAttrs((name) => {
    const v = node.attr?.[name];
    return v?.f !== undefined ? Number(v.f) : v?.i !== undefined ? Number(v.i) : undefined;
  });
  // The lowering is Turbo's score, with the mean or MLERP. PiToMe's energy needs an N×N ELU mean
  // and a rank-dependent split that is not written yet: refused rather than silently Turbo.
  if (a.score || (a.mergeMode ?? 0) > 1) {
    const chosen = [a.score ? `--score ${MERGE_SCORES[a.score] ?? a.score}` : '', (a.mergeMode ?? 0) > 1 ? `--merge ${MERGE_MODES[a.mergeMode!] ?? a.mergeMode}` : ''].filter(Boolean).join(' ');
    throw new OptionsError('portable', `has no standard-op form of ${chosen} (only --score turbo); convert without --portable and load the Turbo ops`);
  }
  const p = a.protectedTokens ?? 1;
  const r = effectiveR(a.r ?? 0, n, p, a.rThreshold ?? 0);
  const c = mergeWeight(a.alpha ?? 0, a.beta ?? 1, a.gamma ?? 0, a.layer ?? 0);
  // New nodes are named "<node>/lowered/...", as this pass named them before its rename: --portable output stays byte-identical.
  const base = `${node.name}/lowered`;
  const at = (s: string) => graph.uniqueName(`${base}/${s}`);
  const size = sizeIn ?? tf.unary(at('ones'), 'OnesLike', clsAttn);
  const assignmentUsed = graph.consumers(node.name).some(({ node: cn, inputIndex }) => cn.input![inputIndex] === formatRef(node.name, 2));

  if (r === 0) {
    // Nothing merges in this block at this resolution: the op is the identity.
    const identity = assignmentUsed ? tf.cast(at('assignment'), constRow(tf, at, clsAttn, range(n)), 'float32', 'int32') : undefined;
    return [x, size, identity];
  }

  const src = range(n).filter((i) => i >= p && i % 2 === 0);
  const dst = range(n).filter((i) => i >= p && i % 2 === 1);
  const ns = src.length;
  const nOut = n - r;
  const dstBase = p + ns - r;

  const norm = tf.binary(at('norm'), 'Maximum', tf.unary(at('l2'), 'Sqrt', tf.reduce(at('sq_sum'), 'Sum', tf.unary(at('sq'), 'Square', metric), [2], true)), tf.scalar(at('eps'), 1e-12));
  const unit = tf.binary(at('unit'), 'RealDiv', metric, norm);
  const scores = tf.batchMatMul(at('scores'), tf.gather(at('src_metric'), unit, src, 1), tf.gather(at('dst_metric'), unit, dst, 1), true);
  const best = tf.reduce(at('best_score'), 'Max', scores, [2], false);
  const bestDst = tf.cast(at('best_dst_f'), tf.argMax(at('best_dst'), scores, 2), 'int32', 'float32');
  const informativity = tf.binary(at('informativity'), 'Sub', best, tf.binary(at('weighted_cls'), 'Mul', tf.gather(at('src_cls'), clsAttn, src, 1), tf.scalar(at('c'), c)));
  const order = formatRef(tf.topK(at('order'), informativity, ns), 1); // [B, ns] source indices, best first

  // isMerged[b, a] = 1 when source a is among the first r of the order.
  const firstR = tf.stridedSlice(at('merged_sources'), order, { begin: [0, 0], end: [0, r], strides: [1, 1], beginMask: 1, endMask: 1 }, 'int32');
  const firstRF = tf.cast(at('merged_sources_f'), firstR, 'int32', 'float32');
  const isMerged = tf.reduce(at('is_merged'), 'Sum', oneHot(tf, at, firstRF, ns), [1], false);
  const notMerged = tf.binary(at('not_merged'), 'Sub', tf.scalar(at('one'), 1), isMerged);

  let unmergedPos: string;
  if (p > 0) {
    // Unmerged sources keep their original order, after the protected tokens.
    unmergedPos = tf.binary(at('unmerged_pos'), 'AddV2', tf.cumsum(at('unmerged_rank'), notMerged, 1), tf.scalar(at('unmerged_base'), p - 1));
  } else {
    // Without protected tokens they come in descending-E order: position = rank in the order − r.
    const rank = tf.reduce(at('rank'), 'Sum', tf.binary(at('rank_terms'), 'Mul', oneHot(tf, at, tf.cast(at('order_f'), order, 'int32', 'float32'), ns), tf.f32(at('k'), [ns, 1], range(ns))), [1], false);
    unmergedPos = tf.binary(at('unmerged_pos'), 'Sub', rank, tf.scalar(at('r'), r));
  }
  const mergedPos = tf.binary(at('merged_pos'), 'AddV2', bestDst, tf.scalar(at('dst_base'), dstBase));
  const srcDest = tf.binary(
    at('src_dest'),
    'AddV2',
    tf.binary(at('src_dest_merged'), 'Mul', isMerged, mergedPos),
    tf.binary(at('src_dest_kept'), 'Mul', notMerged, unmergedPos),
  );

  // dest for every token: [protected, sources, destinations] concatenated, then put back in token order.
  const parts = [
    ...(p > 0 ? [constRow(tf, at, clsAttn, range(p), range(p))] : []),
    srcDest,
    constRow(tf, at, clsAttn, dst.map((_, j) => dstBase + j), dst),
  ];
  const grouped = tf.concat(at('dest_grouped'), parts, 1, 'float32');
  const column = new Array<number>(n);
  range(p).forEach((t) => (column[t] = t));
  src.forEach((t, a) => (column[t] = p + a));
  dst.forEach((t, j) => (column[t] = p + ns + j));
  const dest = tf.gather(at('dest'), grouped, column, 1); // [B, N] float, exact small integers

  // M[b, o, i] = 1 when token i goes to output o.
  const m = tf.cast(at('members'), tf.equal(at('members_eq'), tf.expandDims(at('dest_row'), dest, 1), tf.f32(at('outputs'), [nOut, 1], range(nOut))), 'bool', 'float32');
  const sizeOut = tf.reduce(at('size'), 'Sum', tf.binary(at('size_terms'), 'Mul', m, tf.expandDims(at('size_row'), size, 1)), [2], false);
  const weighted = tf.binary(at('weighted_x'), 'Mul', x, tf.expandDims(at('size_col'), size, 2));
  const xMean = tf.binary(at('x'), 'RealDiv', tf.batchMatMul(at('x_sum'), m, weighted, false), tf.expandDims(at('size_out_col'), sizeOut, 2));
  const xOut = a.mergeMode === 1 ? mlerpInStandardOps(tf, at, x, xMean, m) : xMean;
  return [xOut, sizeOut, assignmentUsed ? tf.cast(at('assignment'), dest, 'float32', 'int32') : undefined];
}

/**
 * MLERP (docs/ALGORITHM.md) on the mean x' [B, N', C]: merged rows rescaled to the largest norm of
 * their members, x' · max_i ‖x_i‖ / max(‖x'‖, 1e−12); M [B, N', N] is 0/1 and norms are ≥ 0, so the
 * largest member norm is Max over i of M·‖x_i‖. Rows one token went to keep the mean (SelectV2).
 */
function mlerpInStandardOps(tf: TfBuilder, at: (s: string) => string, x: string, xMean: string, m: string): string {
  const rowNorm = (name: string, t: string, keep: boolean) => tf.unary(at(`${name}_norm`), 'Sqrt', tf.reduce(at(`${name}_sq_sum`), 'Sum', tf.unary(at(`${name}_sq`), 'Square', t), [2], keep));
  const memberNorms = tf.binary(at('mlerp_member_norms'), 'Mul', m, tf.expandDims(at('mlerp_norm_row'), rowNorm('mlerp_x', x, false), 1));
  const maxNorm = tf.reduce(at('mlerp_max_norm'), 'Max', memberNorms, [2], true);
  const meanNorm = tf.binary(at('mlerp_mean_norm_floor'), 'Maximum', rowNorm('mlerp_mean', xMean, true), tf.scalar(at('mlerp_eps'), 1e-12));
  const scaled = tf.binary(at('mlerp_scaled'), 'Mul', xMean, tf.binary(at('mlerp_scale'), 'RealDiv', maxNorm, meanNorm));
  const members = tf.reduce(at('mlerp_members'), 'Sum', m, [2], true);
  const merged = tf.node(at('mlerp_is_merged'), 'Greater', [members, tf.scalar(at('mlerp_one'), 1)], { T: { type: 'DT_FLOAT' } });
  return tf.node(at('mlerp_x'), 'SelectV2', [merged, scaled, xMean], { T: { type: 'DT_FLOAT' } });
}

/** [B, K, depth] with 1 where the (float) index equals the position along the last axis. */
function oneHot(tf: TfBuilder, at: (s: string) => string, indices: string, depth: number): string {
  const eq = tf.equal(at('onehot_eq'), tf.expandDims(at('onehot_idx'), indices, 2), tf.f32(at('onehot_range'), [depth], range(depth)));
  return tf.cast(at('onehot'), eq, 'bool', 'float32');
}

/** A constant row broadcast over the batch: ZerosLike(like[:, cols]) + values, [B, values.length]. */
function constRow(tf: TfBuilder, at: (s: string) => string, like: string, values: number[], cols = values.map((_, i) => i)): string {
  const zeros = tf.unary(at('zeros'), 'ZerosLike', tf.gather(at('zeros_like'), like, cols, 1));
  return tf.binary(at('row'), 'AddV2', zeros, tf.f32(at('row_values'), [values.length], values));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
