// ViT (timm / HF, and our own converter): one class token concatenated before the patches,
// pre-norm blocks, class-token pooling or (timm global_pool='avg') mean pooling.

import { Architecture } from './types';
import { readTokenLayout } from './tokens';
import { findMeanPools } from '../pooling';

export const vit: Architecture = {
  name: 'vit',
  match(graph, blocks) {
    const layout = readTokenLayout(graph, blocks[0]);
    if (!layout) return 'no token concat (class token + patches) found before the first block';
    if (layout.specialTokens !== 1) return `expected 1 class token before the patches, found ${layout.specialTokens}`;
    if (layout.tokenCount === undefined) return 'could not read the static token count';
    // timm's global_pool='avg' variant pools by mean instead of reading the class token.
    const meanPools = findMeanPools(graph, blocks);
    if (typeof meanPools === 'string') return meanPools;
    return { protectedTokens: 1, tokenCount: layout.tokenCount, meanPools };
  },
};
