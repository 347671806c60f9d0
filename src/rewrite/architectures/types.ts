import { Graph } from '../../graph/ir';
import { AttentionBlock } from '../blocks';
import { MeanPool } from '../pooling';

/** How a matched family lays out its tokens and pools them: everything that differs per family. */
export interface ArchitectureMatch {
  /** Leading tokens that are never merged (class token; DeiT adds a distillation token). */
  protectedTokens: number;
  /** Token count the graph was built for (patches + protected tokens). */
  tokenCount: number;
  /** Mean pools over the token axis that must become size-weighted; empty for class-token pooling. */
  meanPools: MeanPool[];
}

export interface Architecture {
  name: string;
  /** Returns the match when the graph is this family, otherwise a reason it is not. */
  match(graph: Graph, blocks: AttentionBlock[]): ArchitectureMatch | string;
}
