// CLIP vision: one class token, a LayerNorm on the embeddings before the first block
// ("pre_layrnorm"), quick-GELU (x·sigmoid(1.702x)) MLPs, pooled output = post-LayerNorm of the
// class token through the projection. Merging keeps the class token first, so pooling is unchanged.

import { Graph, dataInputs } from '../../graph/ir';
import { PathPattern, isFailure, matchParentPath } from '../../graph/match';
import { NodeDef } from '../../graph/types';
import { AttentionBlock, mlpNodes } from '../blocks';
import { isConst, knownScalar } from '../consts';
import { tokenLayoutWith } from './tokens';
import { CLASS_TOKEN_POOLING } from './types';
import { defineArchitecture } from './vit';

const QUICK_GELU_SCALE = 1.702;

/** Mul(x, sigmoid(1.702·x)) seen from the outer Mul, up the operand that holds the Sigmoid. */
export const QUICK_GELU: PathPattern = {
  name: 'quick-GELU x·sigmoid(1.702·x)',
  steps: [
    { label: 'Sigmoid', ops: ['Sigmoid'] },
    {
      label: '1.702·x',
      ops: ['Mul'],
      where: (mul, graph) => {
        const c = dataInputs(mul).find((r) => isConst(graph, r));
        if (!c) return `Mul '${mul.name}' has no constant factor`;
        const v = knownScalar(graph, c);
        // Topologies without their shards know the constant is there but not its value.
        return v === undefined || Math.abs(v - QUICK_GELU_SCALE) < 1e-3 ? undefined : `Mul '${mul.name}' scales by ${v}, not 1.702`;
      },
    },
  ],
};

/** The Mul computing quick-GELU, when `mul` is one: the Sigmoid's argument is the other operand times 1.702. */
export function isQuickGelu(graph: Graph, mul: NodeDef): boolean {
  if (mul.op !== 'Mul') return false;
  const inputs = dataInputs(mul);
  return [0, 1].some((i) => {
    const m = matchParentPath(graph, mul, i, QUICK_GELU);
    if (isFailure(m)) return false;
    const scaled = dataInputs(m.nodes[1]).find((r) => !isConst(graph, r));
    return scaled !== undefined && scaled === inputs[1 - i];
  });
}

function quickGeluBlocks(graph: Graph, blocks: AttentionBlock[]): number {
  return blocks.filter((b) => mlpNodes(graph, b).some((n) => isQuickGelu(graph, n))).length;
}

export const clip = defineArchitecture({
  name: 'clip',
  specialises: ['vit'],
  detect(graph, blocks) {
    const layout = tokenLayoutWith(graph, blocks, 1, 'class token');
    if (typeof layout === 'string') return { matches: false, reason: layout };
    if (!layout.path.some((n) => n.op === 'Rsqrt')) return { matches: false, reason: 'no LayerNorm between the embeddings and the first block' };
    const gelu = quickGeluBlocks(graph, blocks);
    if (gelu < blocks.length) return { matches: false, reason: `quick-GELU (x·sigmoid(1.702x)) in the MLP of ${gelu} of ${blocks.length} blocks` };
    return { matches: true, reason: `one class token, a LayerNorm before the first block, quick-GELU in the MLPs of all ${blocks.length} blocks` };
  },
  pooling: () => CLASS_TOKEN_POOLING,
});
