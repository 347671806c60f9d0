// ViT (timm / HF, and our own converter): one class token concatenated before the patches,
// pre-norm blocks, class-token pooling.

import { Architecture } from './types';
import { readTokenLayout } from './tokens';

export const vit: Architecture = {
  name: 'vit',
  match(graph, blocks) {
    const layout = readTokenLayout(graph, blocks[0]);
    if (!layout) return 'no token concat (class token + patches) found before the first block';
    if (layout.specialTokens !== 1) return `expected 1 class token before the patches, found ${layout.specialTokens}`;
    if (layout.tokenCount === undefined) return 'could not read the static token count';
    return { protectedTokens: 1, tokenCount: layout.tokenCount, meanPools: [] };
  },
};
