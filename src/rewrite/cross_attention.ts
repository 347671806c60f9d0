// Cross-attention layers in a text graph (BLIP's BERT encoder/decoder layers attending to image
// tokens), found structurally with the same patterns as self-attention (blocks.ts), told apart by
// where their keys come from:
//   text ─ q ─┐
//   image ─ k ─ Q·Kᵀ ─ scale ─ [+mask] ─ Softmax ─ P·V
//   image ─ v ─────────────────────────────────────┘
// The projection chain above K and V (named variants below) ends at the tokens they read; in
// self-attention that is the tensor Q reads too, in cross-attention it is the image tokens.

import { Graph, dataInputs, parseRef } from '../graph/ir';
import { PathPattern, describeFailures, isFailure, matchParentPath, matchVariants } from '../graph/match';
import { NodeDef } from '../graph/types';
import { ADD_OPS, MATMUL_OPS, SOFTMAX_TO_QK, attentionValues } from './blocks';
import { isConst } from './consts';

/** Head split of a dense output: Transpose(Reshape(x, [B, N, H, d]), [0, 2, 1, 3]). */
const HEAD_SPLIT = [
  { label: 'head transpose', ops: ['Transpose'] },
  { label: 'head reshape', ops: ['Reshape'] },
] as const;

/**
 * Keras Dense on [B, N, C] as the TF converter leaves it: a Tensordot (Reshape to [B·N, C], MatMul,
 * Reshape back) with the bias fused into the MatMul or added after, or an Einsum.
 */
export const PROJECTIONS: readonly PathPattern[] = [
  {
    name: 'tensordot dense, bias after the reshape',
    steps: [...HEAD_SPLIT, { label: 'bias', ops: ['BiasAdd', 'AddV2', 'Add'] }, { label: 'reshape back', ops: ['Reshape'] }, { label: 'matmul', ops: ['MatMul', '_FusedMatMul'] }, { label: 'flatten', ops: ['Reshape'] }],
  },
  {
    name: 'tensordot dense, bias fused',
    steps: [...HEAD_SPLIT, { label: 'reshape back', ops: ['Reshape'] }, { label: 'matmul + bias', ops: ['_FusedMatMul', 'MatMul'] }, { label: 'flatten', ops: ['Reshape'] }],
  },
  {
    name: 'einsum dense',
    steps: [...HEAD_SPLIT, { label: 'bias', ops: ['BiasAdd', 'AddV2', 'Add'], optional: true }, { label: 'einsum', ops: ['Einsum'] }],
  },
];

export interface CrossAttention {
  /** Order among the cross-attention layers (graph order), from 0. */
  index: number;
  softmax: NodeDef;
  qk: NodeDef;
  pv: NodeDef;
  /** The image-token tensor K and V are projected from. */
  tokensRef: string;
  /** The Add before Softmax that adds the image-token mask, and which of its inputs is the mask. */
  maskAdd: { node: NodeDef; input: number; ref: string };
  /** Names of the nodes between the tokens and K/V (the projections), for rewiring. */
  projection: Set<string>;
}

export interface CrossAttentionReport {
  layers: CrossAttention[];
  /** Softmaxes that are attention but not cross-attention, and why others did not match. */
  selfAttention: number;
  rejected: string[];
}

function projectionSource(graph: Graph, from: NodeDef, input: number): { source: string; nodes: NodeDef[] } | string {
  const m = matchVariants(graph, from, input, PROJECTIONS);
  if (Array.isArray(m)) return describeFailures(m);
  return { source: m.end, nodes: m.nodes };
}

export function findCrossAttention(graph: Graph): CrossAttentionReport {
  const layers: CrossAttention[] = [];
  const rejected: string[] = [];
  let selfAttention = 0;
  // Graph (execution) order, not node-list order: the layer index sets each layer's keep count.
  for (const softmax of graph.topoOrder().filter((n) => n.op === 'Softmax')) {
    const up = matchParentPath(graph, softmax, 0, SOFTMAX_TO_QK);
    if (isFailure(up)) {
      rejected.push(`${softmax.name}: at ${up.step}, ${up.reason}`);
      continue;
    }
    const qk = up.nodes[up.nodes.length - 1];
    const pv = attentionValues(graph, softmax);
    if (!pv) {
      rejected.push(`${softmax.name}: its output does not feed a BatchMatMul(P, v)`);
      continue;
    }
    const q = projectionSource(graph, qk, 0);
    const k = projectionSource(graph, qk, 1);
    const v = projectionSource(graph, pv, 1);
    const bad = [q, k, v].find((x): x is string => typeof x === 'string');
    if (bad !== undefined || typeof q === 'string' || typeof k === 'string' || typeof v === 'string') {
      rejected.push(`${softmax.name}: q/k/v are not dense projections (${bad})`);
      continue;
    }
    if (k.source === q.source) {
      selfAttention++;
      continue;
    }
    if (v.source !== k.source) {
      rejected.push(`${softmax.name}: keys and values read different tensors (${k.source}, ${v.source})`);
      continue;
    }
    const maskAdd = findMaskAdd(graph, up.nodes.slice(0, -1), k.source);
    if (!maskAdd) {
      rejected.push(`${softmax.name}: no image-token mask added before the Softmax`);
      continue;
    }
    const projection = new Set([...k.nodes, ...v.nodes].map((n) => n.name));
    layers.push({ index: layers.length, softmax, qk, pv, tokensRef: k.source, maskAdd, projection });
  }
  return { layers, selfAttention, rejected };
}

/** Among the Adds between Q·Kᵀ and Softmax, the one adding a non-constant that does not come from the logits. */
function findMaskAdd(graph: Graph, path: NodeDef[], _tokens: string): CrossAttention['maskAdd'] | undefined {
  const onPath = new Set(path.map((n) => n.name));
  for (const node of path) {
    if (!ADD_OPS.has(node.op)) continue;
    const inputs = dataInputs(node);
    for (let i = 0; i < inputs.length; i++) {
      const from = parseRef(inputs[i]).node;
      if (onPath.has(from) || isConst(graph, inputs[i]) || MATMUL_OPS.has(graph.tryNode(from)?.op ?? '')) continue;
      return { node, input: i, ref: inputs[i] };
    }
  }
  return undefined;
}
