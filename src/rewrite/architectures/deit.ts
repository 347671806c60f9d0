// DeiT (distilled): a class token and a distillation token before the patches. Both stay first
// through every merge, so the two heads that read tokens 0 and 1 are left as they are.

import { Architecture } from './types';
import { readTokenLayout } from './tokens';

export const deit: Architecture = {
  name: 'deit',
  match(graph, blocks) {
    const layout = readTokenLayout(graph, blocks[0]);
    if (!layout) return 'no token concat (class + distillation tokens + patches) found before the first block';
    if (layout.specialTokens !== 2) return `expected 2 special tokens before the patches, found ${layout.specialTokens}`;
    if (layout.tokenCount === undefined) return 'could not read the static token count';
    return { protectedTokens: 2, tokenCount: layout.tokenCount, meanPools: [] };
  },
};
