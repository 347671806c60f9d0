// BLIP vision (ViT-B/16 at 384 in the official models): one class token, pre-norm blocks with a
// fused qkv projection whose keys are sliced out of one [3, B, H, N, d] tensor.

import { tokenLayoutWith } from './tokens';
import { CLASS_TOKEN_POOLING } from './types';
import { defineArchitecture } from './vit';

export const blip = defineArchitecture({
  name: 'blip',
  specialises: ['vit'],
  detect(graph, blocks) {
    const layout = tokenLayoutWith(graph, blocks, 1, 'class token');
    if (typeof layout === 'string') return { matches: false, reason: layout };
    const fusedQkv = blocks.every((b) => graph.tryNode(b.keysRef)?.op === 'StridedSlice');
    if (!fusedQkv) return { matches: false, reason: 'keys are not sliced from a fused qkv projection' };
    return { matches: true, reason: `one class token, and the keys of all ${blocks.length} blocks are sliced from a fused qkv projection` };
  },
  pooling: () => CLASS_TOKEN_POOLING,
});
