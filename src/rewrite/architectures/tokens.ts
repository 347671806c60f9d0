// Shared reading of the embedding stage: where the token sequence is assembled (ConcatV2 of the
// special tokens and the patch tokens) and how many tokens the graph was built for.

import { Graph, dataInputs, parseRef } from '../../graph/ir';
import { NodeDef } from '../../graph/types';
import { AttentionBlock } from '../blocks';

export interface TokenLayout {
  /** The ConcatV2 along the token axis that builds [special tokens..., patches]. */
  concat: NodeDef;
  /** Data inputs of the concat before the patch tokens. */
  specialTokens: number;
  /** Static token count, from the position embedding or a Reshape constant; undefined if fully dynamic. */
  tokenCount: number | undefined;
  /** Every node between the concat and the first block, for family-specific checks (e.g. a pre-LayerNorm). */
  path: NodeDef[];
}

/** Walks up from the first block's input to the token concat, breadth-first, within a few dozen nodes. */
export function readTokenLayout(graph: Graph, first: AttentionBlock): TokenLayout | undefined {
  const seen = new Set<string>();
  const queue: NodeDef[] = [];
  const start = graph.tryNode(first.blockInputRef);
  if (start) queue.push(start);
  const path: NodeDef[] = [];
  let tokenCount: number | undefined;
  while (queue.length && seen.size < 64) {
    const n = queue.shift()!;
    if (seen.has(n.name)) continue;
    seen.add(n.name);
    path.push(n);
    if (tokenCount === undefined && (n.op === 'AddV2' || n.op === 'Add')) tokenCount = positionEmbeddingLength(graph, n);
    if (n.op === 'ConcatV2' && isTokenAxis(graph, n)) {
      const inputs = dataInputs(n);
      const specialTokens = inputs.length - 2;
      tokenCount ??= staticTokenCount(graph, first) ?? patchGridTokens(graph, n, specialTokens);
      return { concat: n, specialTokens, tokenCount, path };
    }
    for (const r of dataInputs(n)) {
      const p = graph.tryNode(r);
      if (p && p.op !== 'Const') queue.push(p);
    }
  }
  return undefined;
}

function isTokenAxis(graph: Graph, concat: NodeDef): boolean {
  const inputs = dataInputs(concat);
  const axis = graph.constValues(inputs[inputs.length - 1]);
  return !!axis && axis.length === 1 && (axis[0] === 1 || axis[0] === -2);
}

/** [1, N, C] constant added to the tokens: the position embedding. */
function positionEmbeddingLength(graph: Graph, add: NodeDef): number | undefined {
  for (const r of dataInputs(add)) {
    const w = graph.weights.get(parseRef(r).node);
    const n = graph.tryNode(r);
    if (n?.op === 'Const' && w && w.spec.shape.length === 3 && w.spec.shape[0] === 1) return w.spec.shape[1];
  }
  return undefined;
}

/** Token count baked into the keys' Reshape ([-1, N, H, d]), when the embedding did not tell. */
function staticTokenCount(graph: Graph, block: AttentionBlock): number | undefined {
  let node = graph.tryNode(block.keysRef);
  for (let i = 0; node && i < 4; i++) {
    if (node.op === 'Reshape') {
      const shape = graph.constValues(dataInputs(node)[1]);
      if (shape && shape.length === 4 && shape[1] > 0) return shape[1];
    }
    node = graph.tryNode(dataInputs(node)[0]);
  }
  return undefined;
}

/**
 * Patches from the signature's image size and the patch convolution's stride, plus the special
 * tokens: for graphs whose position embedding is sliced or gathered rather than a plain constant.
 */
function patchGridTokens(graph: Graph, concat: NodeDef, specialTokens: number): number | undefined {
  const patches = graph.tryNode(dataInputs(concat)[specialTokens]);
  const seen = new Set<string>();
  const stack = patches ? [patches] : [];
  while (stack.length && seen.size < 32) {
    const n = stack.pop()!;
    if (seen.has(n.name)) continue;
    seen.add(n.name);
    if (n.op === 'Conv2D' || n.op === '_FusedConv2D') {
      const strides = n.attr?.strides?.list?.i?.map(Number);
      const nhwc = (n.attr?.data_format?.s ?? '') !== Buffer.from('NCHW').toString('base64');
      const dims = Object.values(graph.modelJson.signature?.inputs ?? {})[0]?.tensorShape?.dim?.map((d) => Number(d.size));
      if (!strides || !dims || dims.length !== 4) return undefined;
      const [sh, sw] = nhwc ? [strides[1], strides[2]] : [strides[2], strides[3]];
      // Inputs are NCHW (HF) or NHWC; the two spatial sizes are the ones that are not 3 channels.
      const [h, w] = dims[1] === 3 ? [dims[2], dims[3]] : [dims[1], dims[2]];
      if (!(h > 0 && w > 0 && sh > 0 && sw > 0)) return undefined;
      return Math.floor(h / sh) * Math.floor(w / sw) + specialTokens;
    }
    for (const r of dataInputs(n)) {
      const p = graph.tryNode(r);
      if (p && p.op !== 'Const') stack.push(p);
    }
  }
  return undefined;
}
