// Structural discovery of pre-norm transformer blocks in a tfjs graph:
//   x ─┬─ LN1 ─ q,k,v ─ BatchMatMul(q,kᵀ) ─ [scale] ─ [+mask] ─ Softmax ─ BatchMatMul(·,v) ─ … ─ proj ─┐
//      └──────────────────────────────────────────────────────────────────────────────────── Add (attn residual)
//   attn residual ─┬─ LN2 ─ MLP ─┐
//                  └───────────── Add (mlp residual)
// Node names are never required; only op types and wiring are. Everything an architecture needs
// beyond this (protected tokens, pooling) lives in its own file under architectures/.

import { Graph, dataInputs, formatRef, parseRef } from '../graph/ir';
import { PathPattern, describeFailures, isFailure, matchChildPath, matchParentPath, matchVariants } from '../graph/match';
import { NodeDef } from '../graph/types';

/** The batched matmuls of attention (Q·Kᵀ, P·V). */
export const MATMUL_OPS: ReadonlySet<string> = new Set(['BatchMatMulV2', 'BatchMatMul', 'BatchMatMulV3']);
export const ADD_OPS: ReadonlySet<string> = new Set(['AddV2', 'Add']);
/** Ops allowed between Q·Kᵀ and Softmax (scaling, masks, relative bias). */
const LOGIT_OPS = new Set(['Mul', 'RealDiv', 'Div', 'AddV2', 'Add', 'Identity']);
/** Ops allowed between K's projection and Q·Kᵀ, besides the projection itself. */
const PASS_THROUGH = new Set(['Identity']);

export interface AttentionBlock {
  index: number;
  /** Q·Kᵀ matmul. */
  qk: NodeDef;
  /** Node whose output feeds Softmax: the logits the proportional-attention bias is added to. */
  logitsRef: string;
  softmax: NodeDef;
  /** P·V matmul. */
  pv: NodeDef;
  /** Keys per head, [B, H, N, d] (tensor reference). */
  keysRef: string;
  /** Attention residual Add: x + proj(attention). Turbo merges right after it. */
  attnResidual: NodeDef;
  /** The block input x (residual stream before attention). */
  blockInputRef: string;
  /** MLP residual Add: the block output. */
  mlpResidual: NodeDef;
}

export interface BlockSearchReport {
  softmaxCount: number;
  blocks: AttentionBlock[];
  /** Why each unmatched Softmax was rejected, for the "nothing matched" error. */
  rejected: string[];
}

export function findAttentionBlocks(graph: Graph): BlockSearchReport {
  // Numbered in execution order, without sorting the graph itself.
  const softmaxes = graph.topoOrder().filter((n) => n.op === 'Softmax');
  const blocks: AttentionBlock[] = [];
  const rejected: string[] = [];
  for (const softmax of softmaxes) {
    const result = matchBlock(graph, softmax);
    if (typeof result === 'string') rejected.push(`${softmax.name}: ${result}`);
    else blocks.push({ ...result, index: blocks.length });
  }
  return { softmaxCount: softmaxes.length, blocks, rejected };
}

function matchBlock(graph: Graph, softmax: NodeDef): Omit<AttentionBlock, 'index'> | string {
  const logitsRef = dataInputs(softmax)[0];
  const up = matchParentPath(graph, softmax, 0, SOFTMAX_TO_QK);
  if (isFailure(up)) return 'no BatchMatMul(q, kᵀ) above the Softmax';
  const qk = up.nodes[up.nodes.length - 1];

  const keys = matchVariants(graph, qk, 1, KEYS);
  if (Array.isArray(keys)) return `Q·Kᵀ '${qk.name}' does not read keys as [B, H, N, d] (${describeFailures(keys)})`;
  const keysRef = keys.end;

  const pv = attentionValues(graph, softmax);
  if (!pv) return 'Softmax output does not feed a BatchMatMul(P, v)';

  const ancestors = ancestorSet(graph, qk.name);
  const down = matchChildPath(graph, pv, residualPattern(ancestors));
  if (isFailure(down)) return `no residual Add after P·V '${pv.name}' (at ${down.step}, ${down.reason})`;
  const attnResidual = down.nodes[down.nodes.length - 1];
  const blockInputRef = dataInputs(attnResidual).find((r) => ancestors.has(parseRef(r).node))!;

  const mlpResidual = graph.consumerNodes(attnResidual.name).find(
    (n) => ADD_OPS.has(n.op) && dataInputs(n).some((r) => r !== formatRef(attnResidual.name) && r !== attnResidual.name),
  );
  if (!mlpResidual) return `attention residual '${attnResidual.name}' is not followed by an MLP residual Add`;

  return { qk, logitsRef, softmax, pv, keysRef, attnResidual, blockInputRef, mlpResidual };
}

/** P·V: the batched matmul reading the attention probabilities (`softmax`) as its first operand. */
export function attentionValues(graph: Graph, softmax: NodeDef): NodeDef | undefined {
  return graph.consumerNodes(softmax.name).find((n) => MATMUL_OPS.has(n.op) && parseRef(dataInputs(n)[0]).node === softmax.name);
}

/** Softmax ← [scaling, masks, biases]* ← Q·Kᵀ, following the operand that leads to the matmul. */
export const SOFTMAX_TO_QK: PathPattern = {
  name: 'Softmax ← scale/mask* ← Q·Kᵀ',
  steps: [
    { label: 'scale or mask', ops: LOGIT_OPS, repeat: true, input: 'toward' },
    { label: 'Q·Kᵀ', ops: MATMUL_OPS },
  ],
};

const adjY = (qk: NodeDef) => qk.attr?.adj_y?.b ?? qk.attr?.transpose_b?.b ?? false;

/** The two ways converters feed [B, H, N, d] keys to Q·Kᵀ (input 1); `end` is the keys tensor. */
export const KEYS: readonly PathPattern[] = [
  {
    name: 'keys read with adj_y',
    when: (qk) => (adjY(qk) ? undefined : 'adj_y is false'),
    steps: [{ label: 'Identity', ops: PASS_THROUGH, repeat: true }],
  },
  {
    name: 'keys as Transpose(k, [0, 1, 3, 2])',
    steps: [
      { label: 'Identity', ops: PASS_THROUGH, repeat: true },
      {
        label: 'Transpose [0, 1, 3, 2]',
        ops: ['Transpose'],
        where: (t, graph) => {
          const perm = graph.constValues(dataInputs(t)[1]);
          const p = perm ? Array.from(perm).join() : 'unknown';
          return p === '0,1,3,2' ? undefined : `Transpose '${t.name}' has perm [${p}]`;
        },
      },
    ],
  },
];

/** Ops between P·V and the attention residual: merging the heads back and the output projection. */
const PROJECTION_OPS = new Set(['Transpose', 'Reshape', 'MatMul', '_FusedMatMul', 'BiasAdd', 'Identity', 'AddV2', 'Add']);

/**
 * P·V → merge heads → output projection (bias Adds included) → residual Add, down the one-consumer
 * chain; the residual is the first Add with an operand from above the attention (`ancestors`: the
 * residual stream).
 */
export function residualPattern(ancestors: ReadonlySet<string>): PathPattern {
  const readsStream = (n: NodeDef) => ADD_OPS.has(n.op) && dataInputs(n).some((r) => ancestors.has(parseRef(r).node));
  return {
    name: 'P·V → heads merged, projected → residual Add',
    steps: [
      {
        label: 'head merge and projection',
        ops: PROJECTION_OPS,
        repeat: true,
        where: (n) => (readsStream(n) ? `'${n.name}' is the residual Add` : undefined),
      },
      {
        label: 'residual Add',
        ops: ADD_OPS,
        where: (n) => (readsStream(n) ? undefined : `Add '${n.name}' does not read the residual stream`),
      },
    ],
  };
}

/**
 * Every node inside the blocks: ancestors of the last block's output that are not ancestors of
 * the first block's input (so the embedding stage and the head are left out). Constants excluded.
 */
export function blockRegion(graph: Graph, blocks: AttentionBlock[]): Set<string> {
  if (blocks.length === 0) return new Set();
  const before = ancestorSet(graph, parseRef(blocks[0].blockInputRef).node);
  const region = ancestorSet(graph, blocks[blocks.length - 1].mlpResidual.name);
  for (const n of before) region.delete(n);
  return region;
}

function ancestorSet(graph: Graph, name: string): Set<string> {
  const seen = new Set<string>();
  const stack = [name];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const r of graph.tryNode(n)?.input ?? []) stack.push(parseRef(r).node);
  }
  // Constants are ancestors of everything they feed but are not the residual stream.
  for (const n of [...seen]) if (graph.tryNode(n)?.op === 'Const') seen.delete(n);
  return seen;
}

/** The MLP of a block: every node between the attention residual and the MLP residual (constants excluded). */
export function mlpNodes(graph: Graph, block: AttentionBlock): NodeDef[] {
  const stop = block.attnResidual.name;
  const seen = new Set<string>();
  const stack = [block.mlpResidual.name];
  while (stack.length) {
    const name = stack.pop()!;
    if (seen.has(name) || name === stop) continue;
    seen.add(name);
    const node = graph.tryNode(name);
    if (node) for (const r of dataInputs(node)) stack.push(parseRef(r).node);
  }
  return graph.nodes.filter((n) => seen.has(n.name) && n.op !== 'Const');
}
