// Mean pooling over tokens (timm's global_pool='avg'). After merging, a token stands for `size`
// patches, so the plain mean would under-weight merged regions; as ToMe does, the pool becomes the
// size-weighted mean  Σ x·size / Σ size  over the same tokens.

import { Graph, dataInputs } from '../graph/ir';
import { TfBuilder } from '../graph/tf_builder';
import { NodeDef } from '../graph/types';
import { AttentionBlock } from './blocks';
import { knownValues } from './consts';

export interface MeanPool {
  /** The Mean node over the token axis. */
  node: string;
  /** Tokens left out before the mean (1: the class token, sliced off as x[:, 1:]). */
  tokenOffset: number;
}

const isTokenMean = (graph: Graph, node: NodeDef) => {
  if (node.op !== 'Mean') return false;
  const axes = knownValues(graph, dataInputs(node)[1]);
  return !!axes && axes.length === 1 && axes[0] === 1;
};

/**
 * The first Means over axis 1 on every path down from `from`: pools of the [B, T, C] tokens. The
 * walk stops at them, since what follows (an fc_norm on the pooled [B, C]) reduces axis 1 of a
 * vector, not tokens. LayerNorm statistics reduce the channel axis and are walked through.
 */
function firstTokenMeans(graph: Graph, from: string): NodeDef[] {
  const seen = new Set<string>();
  const found: NodeDef[] = [];
  const stack = [from];
  while (stack.length) {
    for (const { node } of graph.consumers(stack.pop()!)) {
      if (seen.has(node.name)) continue;
      seen.add(node.name);
      if (isTokenMean(graph, node)) found.push(node);
      else stack.push(node.name);
    }
  }
  return found;
}

/**
 * Means over axis 1 below the last block: the pools to weight, or why one cannot be. Reading a
 * Mean's input as [B, T, C] tokens, either directly or through a StridedSlice x[:, k:, :].
 */
export function findMeanPools(graph: Graph, blocks: AttentionBlock[]): MeanPool[] | string {
  const last = blocks[blocks.length - 1].mlpResidual.name;
  const pools: MeanPool[] = [];
  for (const node of firstTokenMeans(graph, last)) {
    const name = node.name;
    const input = graph.tryNode(dataInputs(node)[0]);
    if (input?.name === last) {
      pools.push({ node: name, tokenOffset: 0 });
      continue;
    }
    const offset = input?.op === 'StridedSlice' && dataInputs(input)[0] === last ? tokenSliceStart(graph, input) : undefined;
    if (offset === undefined) return `Mean '${name}' pools tokens in a form the size weighting does not handle (expected Mean(x) or Mean(x[:, k:, :]) of the last block's output)`;
    pools.push({ node: name, tokenOffset: offset });
  }
  return pools;
}

/** k of x[:, k:, :] (strides 1, nothing shrunk, the end open on the token axis), else undefined. */
function tokenSliceStart(graph: Graph, slice: NodeDef): number | undefined {
  const [, beginRef, , stridesRef] = dataInputs(slice);
  const begin = knownValues(graph, beginRef);
  const strides = knownValues(graph, stridesRef);
  const mask = (k: string) => Number(slice.attr?.[k]?.i ?? 0);
  if (!begin || !strides || begin.length !== 3 || !Array.from(strides).every((s) => s === 1)) return undefined;
  if (mask('shrink_axis_mask') || mask('new_axis_mask') || mask('ellipsis_mask') || !(mask('end_mask') & 2)) return undefined;
  return mask('begin_mask') & 2 ? 0 : begin[1];
}

/** Replaces each pool by the size-weighted mean, `size` [B, N] being the sizes after the last merge. */
export function weightMeanPools(graph: Graph, pools: MeanPool[], size: string, scope: string): void {
  const tf = new TfBuilder(graph);
  pools.forEach(({ node, tokenOffset }, i) => {
    const mean = graph.node(node);
    const s = `${scope}/weighted_pool${i ? `_${i}` : ''}`;
    const keep = mean.attr?.keep_dims?.b ?? false;
    const tokens = dataInputs(mean)[0];
    const sizes = tokenOffset
      ? tf.stridedSlice(`${s}/sizes`, size, { begin: [0, tokenOffset], end: [0, 0], strides: [1, 1], beginMask: 1, endMask: 3 }, 'float32')
      : size;
    const column = tf.expandDims(`${s}/size_column`, sizes, 2); // [B, T, 1]
    const total = tf.reduce(`${s}/weighted_sum`, 'Sum', tf.binary(`${s}/weighted`, 'Mul', tokens, column), [1], keep);
    const count = tf.reduce(`${s}/size_sum`, 'Sum', keep ? column : sizes, [1], true);
    const weighted = tf.binary(`${s}/mean`, 'RealDiv', total, count);
    graph.replaceAllUses(node, weighted, new Set([`${s}/weighted`]));
  });
}

