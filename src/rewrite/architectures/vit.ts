// ViT (timm / HF, and our own converter): one class token concatenated before the patches,
// pre-norm blocks, class-token pooling or (timm global_pool='avg') mean pooling. Its hooks are the
// defaults every other family starts from (defineArchitecture) and overrides where it differs.

import { findAttentionBlocks } from '../blocks';
import { findMeanPools } from '../pooling';
import { tokenInfo, tokenLayoutWith } from './tokens';
import { Architecture, ArchitectureHooks, ArchitectureSpec, CLASS_TOKEN_POOLING } from './types';

export const VIT_DEFAULTS: ArchitectureHooks = {
  findBlocks: findAttentionBlocks,
  tokens: (graph, blocks) => tokenInfo(graph, blocks, 1),
  keys: (_graph, block) => block.keysRef,
  classAttention: (_graph, block) => block.softmax.name,
  pooling(graph, blocks) {
    const pools = findMeanPools(graph, blocks);
    if (typeof pools === 'string') return pools;
    return pools.length ? { kind: 'size-weighted mean', pools } : CLASS_TOKEN_POOLING;
  },
};

/** A family: the ViT defaults, with what `spec` overrides. */
export function defineArchitecture(spec: ArchitectureSpec): Architecture {
  return { ...VIT_DEFAULTS, specialises: [], ...spec };
}

export const vit = defineArchitecture({
  name: 'vit',
  detect(graph, blocks) {
    const layout = tokenLayoutWith(graph, blocks, 1, 'class token');
    if (typeof layout === 'string') return { matches: false, reason: layout };
    return { matches: true, reason: `one class token concatenated before the patches ('${layout.concat.name}')` };
  },
});
