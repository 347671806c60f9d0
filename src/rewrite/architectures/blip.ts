// BLIP vision (ViT-B/16 at 384 in the official models): one class token, pre-norm blocks with a
// fused qkv projection whose keys are sliced out of one [3, B, H, N, d] tensor.

import { Architecture } from './types';
import { readTokenLayout } from './tokens';

export const blip: Architecture = {
  name: 'blip',
  match(graph, blocks) {
    const layout = readTokenLayout(graph, blocks[0]);
    if (!layout) return 'no token concat (class token + patches) found before the first block';
    if (layout.specialTokens !== 1) return `expected 1 class token, found ${layout.specialTokens}`;
    const fusedQkv = blocks.every((b) => graph.tryNode(b.keysRef)?.op === 'StridedSlice');
    if (!fusedQkv) return 'keys are not sliced from a fused qkv projection';
    if (layout.tokenCount === undefined) return 'could not read the token count';
    return { protectedTokens: 1, tokenCount: layout.tokenCount, meanPools: [] };
  },
};
