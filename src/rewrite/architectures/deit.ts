// DeiT (distilled): a class token and a distillation token before the patches. Both stay first
// through every merge, so the two heads that read tokens 0 and 1 are left as they are.

import { tokenInfo, tokenLayoutWith } from './tokens';
import { CLASS_TOKEN_POOLING } from './types';
import { defineArchitecture } from './vit';

export const deit = defineArchitecture({
  name: 'deit',
  specialises: ['vit'],
  detect(graph, blocks) {
    const layout = tokenLayoutWith(graph, blocks, 2, 'special tokens');
    if (typeof layout === 'string') return { matches: false, reason: layout };
    return { matches: true, reason: `class and distillation tokens concatenated before the patches ('${layout.concat.name}')` };
  },
  tokens: (graph, blocks) => tokenInfo(graph, blocks, 2),
  pooling: () => CLASS_TOKEN_POOLING,
});
