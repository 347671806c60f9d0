// What a model family is to the rewrite: how it is recognised (with a reason either way) and the
// hooks that differ between families. src/rewrite/architectures/vit.ts holds the ViT defaults
// every family starts from (defineArchitecture); a family overrides only what differs.

import { Graph } from '../../graph/ir';
import { AttentionBlock, BlockSearchReport } from '../blocks';
import { MeanPool } from '../pooling';

/** Why a family fits a graph, or why it does not: detection never answers a bare yes or no. */
export interface Detection {
  matches: boolean;
  reason: string;
}

/** The token sequence as the graph was built for it. */
export interface TokenInfo {
  /** Leading tokens that are never merged (class token; DeiT adds a distillation token). */
  protectedTokens: number;
  /** Static token count (patches + protected tokens). */
  tokenCount: number;
}

/** How the model reduces its tokens to the output. */
export type Pooling =
  /** Reads the class token (merging keeps it first, so nothing changes). */
  | { kind: 'class token' }
  /** Means over the token axis, made size-weighted (Σ x·size / Σ size) once anything merges. */
  | { kind: 'size-weighted mean'; pools: MeanPool[] };

/** The extension points of the rewrite. Each returns a reason (string) when it cannot answer. */
export interface ArchitectureHooks {
  /** The attention blocks, in execution order (default: the structural search in blocks.ts). */
  findBlocks(graph: Graph): BlockSearchReport;
  /** Protected tokens and the static token count (default: one class token, tokens.ts's layout). */
  tokens(graph: Graph, blocks: AttentionBlock[]): TokenInfo | string;
  /** Keys [B, H, N, d] whose head mean is the merge metric (default: the keys Q·Kᵀ reads). */
  keys(graph: Graph, block: AttentionBlock): string;
  /** Attention probabilities [B, H, N, N] whose row 0 is the class-token attention (default: the Softmax). */
  classAttention(graph: Graph, block: AttentionBlock): string;
  /** How the output is pooled (default: size-weighted mean if a token mean follows the blocks, else the class token). */
  pooling(graph: Graph, blocks: AttentionBlock[]): Pooling | string;
}

export interface Architecture extends ArchitectureHooks {
  /** The name --architecture takes and the metadata records. */
  name: string;
  /**
   * Families this one is a special case of: when both match a graph this one is chosen (CLIP is a
   * ViT with a pre-LayerNorm and quick-GELU). Two matching families that do not specialise one
   * another are an ambiguity, reported as an error.
   */
  specialises: readonly string[];
  /** Whether the graph, whose blocks findBlocks found, is this family, and why (or why not). */
  detect(graph: Graph, blocks: AttentionBlock[]): Detection;
}

/** A family as written in its file: a name, detection, and the hooks it overrides. */
export type ArchitectureSpec = Pick<Architecture, 'name' | 'detect'> & Partial<Pick<Architecture, 'specialises'>> & Partial<ArchitectureHooks>;

export const CLASS_TOKEN_POOLING: Pooling = { kind: 'class token' };
