// Width and MLP width of a matched block, read off the weights of its dense layers, so FLOP
// estimates use the real model (ViT-Tiny 192/768, ViT-B 768/3072, ...) rather than a guess.

import { Graph, dataInputs, parseRef } from '../graph/ir';
import { AttentionBlock } from './blocks';

export interface BlockDims {
  hidden: number;
  mlp: number;
}

const DENSE_OPS = new Set(['MatMul', '_FusedMatMul', 'BatchMatMulV2', 'Einsum']);

/** Largest 2-D weight feeding a dense op between the attention residual and the MLP residual. */
export function blockDims(graph: Graph, block: AttentionBlock): BlockDims | undefined {
  const stop = block.attnResidual.name;
  const seen = new Set<string>();
  const stack = [block.mlpResidual.name];
  let best: number[] | undefined;
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name) || name === stop) continue;
    seen.add(name);
    const node = graph.tryNode(name);
    if (!node) continue;
    if (DENSE_OPS.has(node.op)) {
      for (const ref of dataInputs(node)) {
        const w = graph.weights.get(parseRef(ref).node)?.spec.shape;
        if (w?.length === 2 && (!best || w[0] * w[1] > best[0] * best[1])) best = w;
      }
    }
    for (const ref of dataInputs(node)) stack.push(parseRef(ref).node);
  }
  if (!best) return undefined;
  return { hidden: Math.min(best[0], best[1]), mlp: Math.max(best[0], best[1]) };
}
