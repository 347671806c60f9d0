// CLIP vision: one class token, a LayerNorm on the embeddings before the first block
// ("pre_layrnorm"), quick-GELU (x·sigmoid(1.702x)) MLPs, pooled output = post-LayerNorm of the
// class token through the projection. Merging keeps the class token first, so pooling is unchanged.

import { Architecture } from './types';
import { readTokenLayout } from './tokens';

export const clip: Architecture = {
  name: 'clip',
  match(graph, blocks) {
    const layout = readTokenLayout(graph, blocks[0]);
    if (!layout) return 'no token concat (class token + patches) found before the first block';
    if (layout.specialTokens !== 1) return `expected 1 class token, found ${layout.specialTokens}`;
    if (!layout.path.some((n) => n.op === 'Rsqrt')) return 'no LayerNorm between the embeddings and the first block';
    if (!graph.nodes.some((n) => n.op === 'Sigmoid')) return 'no quick-GELU (Sigmoid) in the MLPs';
    if (layout.tokenCount === undefined) return 'could not read the token count';
    return { protectedTokens: 1, tokenCount: layout.tokenCount, meanPools: [] };
  },
};
