// The Turbo rewrite. planTurbo (reads only): the family (architectures/detect.ts) and, from its
// hooks, the blocks, tokens, metric and attention sources and pooling; then the schedule.
// applyTurbo: collect what to change, apply it, i.e. insert
//   metric  = Mean_heads(keys)                      [B, N, d]
//   clsAttn = Mean_heads(P[:, :, 0, :])             [B, N]
//   x, size = TurboMerge(attn_residual, metric, clsAttn, size)
// after every attention residual with r > 0 and log(size) before every later Softmax, weight
// mean pools and make token counts dynamic; then clean up (prune what is left unused, journaled
// for --strip) and sort the graph once.

import { EditJournal, Graph, floatAttr, formatRef, intAttr } from '../graph/ir';
import type { AttrValue } from '../graph/types';
import { TfBuilder } from '../graph/tf_builder';
import { layerIndices, parseRSchedule, tokenCounts } from '../turbo/schedule';
import { DEFAULT_MCTF_TAU, MctfTau, TurboOptions } from '../turbo/options';
import { MERGE_GRAPH_ATTRS, MERGE_MODES, MERGE_SCORES, TurboMergeAttrs } from '../ops/kernel_names';
import { ARCHITECTURES, Architecture } from './architectures';
import { chooseArchitecture } from './architectures/detect';
import { AttentionBlock, blockRegion } from './blocks';
import { NoTransformerBlocksError } from './errors';
import { BlockDims, blockDims } from './dims';
import { replaceTurboOpsWithStandardOps } from './portable_merge';
import { MeanPool, weightMeanPools } from './pooling';
import {
  makePackedTokenAxesDynamic,
  makeSignatureTokensDynamic,
  makeTokenCountDynamic,
  packedTokenAxes,
  staticSignatureOutputs,
  staticTokenReshapes,
  tokenPath,
} from './shapes';

export const TOOL_VERSION = '0.1.0';
const PREFIX = 'turbo';

export interface RewriteOptions extends TurboOptions {
  /** Force a family instead of detecting it. */
  architecture?: string;
  /** Express the Turbo ops in standard TensorFlow ops (src/rewrite/portable_merge.ts). */
  portable?: boolean;
}

export interface TurboPlan {
  architecture: string;
  /** Why that family was chosen (its detection reason). */
  detection: string;
  protectedTokens: number;
  tokenCount: number;
  blocks: AttentionBlock[];
  /** Per block, from the family's hooks: keys [B, H, N, d] (metric source) and attention probabilities [B, H, N, N] (class-token attention source). */
  sources: { keys: string; attention: string }[];
  /** Requested r per block (before run-time clamping). */
  schedule: number[];
  /** l per block: earlier blocks with scheduled r > 0 (for beta/gamma weighting). */
  layers: number[];
  /** Tokens after each block, as the merge op will produce them. */
  tokensAfterBlock: number[];
  /** Graph input the batch size is read from. */
  inputRef: string;
  /** Width and MLP width of the blocks (for FLOP estimates); undefined if the weights did not tell. */
  dims: BlockDims | undefined;
  /** Mean pools over tokens, made size-weighted once anything merges. */
  meanPools: MeanPool[];
}

export interface RewriteSummary {
  plan: TurboPlan;
  merges: number;
  biasedSoftmaxes: number;
  dynamicReshapes: number;
}

/** Stored in userDefinedMetadata.turbo.undo: what stripTurbo needs to restore the original graph. */
export interface TurboUndo extends EditJournal {
  /** The signature before its token axes were made dynamic (null: the model had none). */
  signature: unknown;
  /** Whether the original model.json had userDefinedMetadata of its own. */
  hadMetadata: boolean;
}

export { NoTransformerBlocksError };

/** Finds the blocks and the family (among `families`), and plans the schedule. Reads the graph only. */
export function planTurbo(
  graph: Graph,
  options: Pick<RewriteOptions, 'r' | 'rThreshold' | 'architecture'>,
  families: readonly Architecture[] = ARCHITECTURES,
): TurboPlan {
  const { arch, blocks, reason } = chooseArchitecture(graph, options.architecture, families);
  const fail = (why: string) => new NoTransformerBlocksError(`found ${blocks.length} attention block(s) of family ${arch.name}, but ${why}`);
  const tokens = arch.tokens(graph, blocks);
  if (typeof tokens === 'string') throw fail(tokens);
  // Merging needs two unprotected tokens; with fewer, every r would clamp to 0 and nothing would merge.
  if (tokens.protectedTokens > tokens.tokenCount - 2) throw fail(`its ${tokens.protectedTokens} protected token(s) leave nothing to merge among its ${tokens.tokenCount} tokens`);
  const pooling = arch.pooling(graph, blocks);
  if (typeof pooling === 'string') throw fail(pooling);
  const schedule = parseRSchedule(options.r, blocks.length);
  return {
    architecture: arch.name,
    detection: reason,
    protectedTokens: tokens.protectedTokens,
    tokenCount: tokens.tokenCount,
    blocks,
    sources: blocks.map((b) => ({ keys: arch.keys(graph, b), attention: arch.classAttention(graph, b) })),
    schedule,
    layers: layerIndices(schedule),
    tokensAfterBlock: tokenCounts(tokens.tokenCount, schedule, tokens.protectedTokens, options.rThreshold),
    inputRef: graphInput(graph),
    dims: blockDims(graph, blocks[0]),
    meanPools: pooling.kind === 'size-weighted mean' ? pooling.pools : [],
  };
}

/**
 * What applyTurbo will do, read off the graph before anything changes (the collect phase): the
 * region of the blocks, the outputs and what they need, and per block whether it merges and
 * whether its logits get the proportional-attention bias.
 */
interface TurboEdits {
  region: Set<string>;
  /** Signature outputs, or the graph's sinks when there is no signature. */
  outputs: string[];
  /** Original nodes no output needed before the rewrite: cleanup leaves them alone. */
  deadBefore: Set<string>;
  signature: unknown;
  hadMetadata: boolean;
  perBlock: { bias: boolean; merge: TurboMergeAttrs | null }[];
}

function collectEdits(graph: Graph, plan: TurboPlan, options: RewriteOptions): TurboEdits {
  const outputs = graph.outputNames();
  const live = graph.liveNodes(outputs);
  let merged = false;
  const perBlock = plan.blocks.map((_, i) => {
    const bias = merged && options.propAttn;
    const merge =
      plan.schedule[i] > 0
        ? {
            r: plan.schedule[i],
            alpha: options.alpha,
            beta: options.beta,
            gamma: options.gamma,
            layer: plan.layers[i],
            protectedTokens: plan.protectedTokens,
            rThreshold: options.rThreshold,
            score: MERGE_SCORES.indexOf(options.score ?? 'turbo'),
            mergeMode: MERGE_MODES.indexOf(options.merge ?? 'mean'),
            margin: options.score === 'pitome' ? pitomeMargin(i, plan.blocks.length) : undefined,
            ...(options.score === 'mctf' && options.tau ? { tauSim: options.tau.sim, tauInfo: options.tau.info, tauSize: options.tau.size } : {}),
          }
        : null;
    merged ||= merge !== null;
    return { bias, merge };
  });
  return {
    region: blockRegion(graph, plan.blocks),
    outputs,
    deadBefore: new Set(graph.nodes.filter((n) => !live.has(n.name)).map((n) => n.name)),
    signature: graph.modelJson.signature === undefined ? null : JSON.parse(JSON.stringify(graph.modelJson.signature)),
    hadMetadata: graph.modelJson.userDefinedMetadata !== undefined,
    perBlock,
  };
}

/** Collect, apply, clean up: the rewrite of a planned graph, journaled for --strip. */
export function applyTurbo(graph: Graph, plan: TurboPlan, options: RewriteOptions): RewriteSummary {
  const edits = collectEdits(graph, plan, options);
  graph.startJournal();
  const applied = applyEdits(graph, plan, edits, options);
  // Cleanup: what the rewrite left unused (replaced shape targets, a replaced pool, constants no
  // merge needed) goes, journaled so --strip restores it; then one topological sort.
  graph.prune(edits.outputs, edits.deadBefore);
  const journal = graph.finishJournal();

  graph.modelJson.userDefinedMetadata = {
    ...(graph.modelJson.userDefinedMetadata ?? {}),
    turbo: {
      tool: 'tfjs-turbo',
      version: TOOL_VERSION,
      architecture: plan.architecture,
      r: options.r,
      schedule: plan.schedule,
      alpha: options.alpha,
      beta: options.beta,
      gamma: options.gamma,
      rThreshold: options.rThreshold,
      propAttn: options.propAttn,
      // Only when chosen: metadata of a default conversion stays byte-identical to earlier versions.
      ...(options.score && options.score !== 'turbo' ? { score: options.score } : {}),
      ...(options.merge && options.merge !== 'mean' ? { merge: options.merge } : {}),
      ...(options.score === 'mctf' && options.tau && !sameTau(options.tau, DEFAULT_MCTF_TAU) ? { tau: { ...options.tau } } : {}),
      portable: !!options.portable,
      pooling: plan.meanPools.length ? 'size-weighted mean' : 'class token',
      protectedTokens: plan.protectedTokens,
      tokenCount: plan.tokenCount,
      tokensAfterBlock: plan.tokensAfterBlock,
      blocks: applied.blockMeta,
      undo: { ...journal, signature: edits.signature, hadMetadata: edits.hadMetadata } satisfies TurboUndo,
    },
  };
  return { plan, merges: applied.merges, biasedSoftmaxes: applied.biasedSoftmaxes, dynamicReshapes: applied.dynamicReshapes };
}

function applyEdits(graph: Graph, plan: TurboPlan, edits: TurboEdits, options: RewriteOptions) {
  const consts = sharedConstants(graph);
  let size: string | undefined;
  let merges = 0;
  let biasedSoftmaxes = 0;
  const blockMeta: { merge: string | null; output: string }[] = [];
  plan.blocks.forEach((block, i) => {
    const scope = `${PREFIX}/block_${i}`;
    const { bias, merge: attrs } = edits.perBlock[i];
    if (bias && size) {
      addProportionalAttention(graph, block, size, scope);
      biasedSoftmaxes++;
    }
    let merge: string | undefined;
    if (attrs) {
      merge = addMerge(graph, block, plan.sources[i], consts, scope, size, attrs);
      size = formatRef(merge, 1);
      merges++;
    }
    blockMeta.push({ merge: merge ?? null, output: block.mlpResidual.name });
  });

  if (size && plan.meanPools.length) weightMeanPools(graph, plan.meanPools, size, PREFIX);
  if (options.portable) {
    const tokensIn = new Map<string, number>();
    blockMeta.forEach(({ merge }, i) => merge && tokensIn.set(merge, i === 0 ? plan.tokenCount : plan.tokensAfterBlock[i - 1]));
    replaceTurboOpsWithStandardOps(graph, tokensIn);
  }
  const dynamic = makeTokenCountDynamic(graph, plan.tokenCount, plan.inputRef, tokenPath(graph, plan.blocks));
  const packs = makePackedTokenAxesDynamic(graph, edits.region, plan.tokenCount);
  makeSignatureTokensDynamic(graph, plan.tokenCount);
  return { blockMeta, merges, biasedSoftmaxes, dynamicReshapes: dynamic.reshapes.length + packs.length };
}

/** Problems that would make the rewritten graph fail to load or run with fewer tokens. */
export function validateRewritten(graph: Graph, plan: TurboPlan): string[] {
  const problems = graph.danglingInputs().map((d) => `dangling input ${d}`);
  for (const name of staticTokenReshapes(graph, plan.tokenCount, tokenPath(graph, plan.blocks))) {
    problems.push(`Reshape '${name}' still has the static token count ${plan.tokenCount}`);
  }
  for (const { pack, value } of packedTokenAxes(graph, blockRegion(graph, plan.blocks), plan.tokenCount)) {
    const what = value === undefined ? 'a constant of unknown value' : `the static token count ${value}`;
    problems.push(`Reshape target '${pack.name}' still has ${what} on the token axis`);
  }
  for (const key of staticSignatureOutputs(graph, plan.tokenCount)) {
    problems.push(`signature output '${key}' still declares ${plan.tokenCount} tokens`);
  }
  return problems;
}

function addMerge(
  graph: Graph,
  block: AttentionBlock,
  sources: TurboPlan['sources'][number],
  consts: SharedConstants,
  scope: string,
  size: string | undefined,
  attrs: TurboMergeAttrs,
): string {
  const tf = new TfBuilder(graph);
  if (attrs.score === MERGE_SCORES.indexOf('mctf')) {
    // MCTF's own placement (without one-step-ahead attention): at the end of the block, on the block
    // output itself as the metric, weighting tokens by the attention they receive, mean over heads
    // and queries ([B, H, N, N] → [B, N]).
    const out = block.mlpResidual.name;
    const received = tf.mean(`${scope}/received_attention`, sources.attention, [1, 2], false);
    const attr = graphAttrs(attrs);
    const merge = tf.node(`${scope}/merge`, 'TurboMerge', size ? [out, out, received, size] : [out, out, received], attr);
    graph.replaceAllUses(out, merge, new Set([merge, received]));
    return merge;
  }
  const metric = tf.meanOf(`${scope}/metric`, sources.keys, consts.axis1, false);
  // P[:, :, 0, :] -> [B, H, N]: begin/end masks on axes 0, 1, 3; shrink axis 2.
  const rowSpec = [consts.rowBegin, consts.rowEnd, consts.rowStrides] as [string, string, string];
  const clsRow = tf.stridedSliceOf(`${scope}/cls_attention_row`, sources.attention, rowSpec, { beginMask: 0b1011, endMask: 0b1011, shrink: 0b0100 }, 'float32');
  const clsAttn = tf.meanOf(`${scope}/cls_attention`, clsRow, consts.axis1, false);
  const x = block.attnResidual.name;
  const attr = graphAttrs(attrs);
  const merge = tf.node(`${scope}/merge`, 'TurboMerge', size ? [x, metric, clsAttn, size] : [x, metric, clsAttn], attr);
  graph.replaceAllUses(x, merge, new Set([merge, metric, clsRow]));
  return merge;
}

/** The node attrs of a merge: an attr at its op default (omitAt) is left out, so default graphs stay as they were. */
function graphAttrs(attrs: TurboMergeAttrs): Record<string, AttrValue> {
  const written = MERGE_GRAPH_ATTRS.filter(({ key, omitAt }) => attrs[key] !== undefined && attrs[key] !== omitAt);
  return Object.fromEntries(written.map(({ key, name, kind }) => [name, kind === 'int' ? intAttr(attrs[key] as number) : floatAttr(attrs[key] as number)]));
}

function addProportionalAttention(graph: Graph, block: AttentionBlock, size: string, scope: string): void {
  const tf = new TfBuilder(graph);
  const bias = tf.node(`${scope}/prop_attn_bias`, 'TurboPropAttnBias', [size]);
  graph.setInput(block.softmax, 0, tf.binary(`${scope}/prop_attn_logits`, 'AddV2', block.logitsRef, bias));
}

interface SharedConstants {
  axis1: string;
  rowBegin: string;
  rowEnd: string;
  rowStrides: string;
}

function sharedConstants(graph: Graph): SharedConstants {
  const c = (name: string, shape: number[], values: number[]) =>
    graph.addConst(graph.uniqueName(`${PREFIX}/const/${name}`), 'int32', shape, values).name;
  return {
    axis1: c('heads_axis', [1], [1]),
    rowBegin: c('cls_row_begin', [4], [0, 0, 0, 0]),
    rowEnd: c('cls_row_end', [4], [0, 0, 1, 0]),
    rowStrides: c('cls_row_strides', [4], [1, 1, 1, 1]),
  };
}


/**
 * PiToMe's margin for block i of L: 0.9 − 0.8·i/L, every block counted whether it merges or not
 * (the official deit apply_patch), as the float32 the graph attr stores.
 */
function sameTau(a: MctfTau, b: MctfTau): boolean {
  return a.sim === b.sim && a.info === b.info && a.size === b.size;
}

export function pitomeMargin(i: number, blocks: number): number {
  return Math.fround(0.9 - 0.8 * (i / blocks));
}

function graphInput(graph: Graph): string {
  const sig = graph.modelJson.signature?.inputs;
  const fromSig = sig ? Object.values(sig)[0]?.name : undefined;
  if (fromSig) return fromSig.replace(/:0$/, '');
  const placeholder = graph.nodes.find((n) => n.op === 'Placeholder');
  if (!placeholder) throw new NoTransformerBlocksError('graph has no input (Placeholder)');
  return placeholder.name;
}
