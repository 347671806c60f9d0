// Structural discovery of pre-norm transformer blocks in a tfjs graph:
//   x ─┬─ LN1 ─ q,k,v ─ BatchMatMul(q,kᵀ) ─ [scale] ─ [+mask] ─ Softmax ─ BatchMatMul(·,v) ─ … ─ proj ─┐
//      └──────────────────────────────────────────────────────────────────────────────────── Add (attn residual)
//   attn residual ─┬─ LN2 ─ MLP ─┐
//                  └───────────── Add (mlp residual)
// Node names are never required; only op types and wiring are. Everything an architecture needs
// beyond this (protected tokens, pooling) lives in its own file under architectures/.

import { Graph, dataInputs, formatRef, parseRef } from '../graph/ir';
import { NodeDef } from '../graph/types';

const MATMUL_OPS = new Set(['BatchMatMulV2', 'BatchMatMul', 'BatchMatMulV3']);
const ADD_OPS = new Set(['AddV2', 'Add']);
/** Ops allowed between Q·Kᵀ and Softmax (scaling, masks, relative bias). */
const LOGIT_OPS = new Set(['Mul', 'RealDiv', 'Div', 'AddV2', 'Add', 'Identity']);
/** Ops allowed between K's projection and Q·Kᵀ, besides the projection itself. */
const PASS_THROUGH = new Set(['Identity']);
const SHAPE_OPS = new Set(['Shape', 'ShapeN', 'Size', 'Rank']);

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
  const softmaxes = graph.nodes.filter((n) => n.op === 'Softmax');
  const consumers = consumerIndex(graph);
  const blocks: AttentionBlock[] = [];
  const rejected: string[] = [];
  for (const softmax of softmaxes) {
    const result = matchBlock(graph, consumers, softmax);
    if (typeof result === 'string') rejected.push(`${softmax.name}: ${result}`);
    else blocks.push({ ...result, index: blocks.length });
  }
  return { softmaxCount: softmaxes.length, blocks, rejected };
}

type ConsumerIndex = Map<string, NodeDef[]>;

function consumerIndex(graph: Graph): ConsumerIndex {
  const idx: ConsumerIndex = new Map();
  for (const n of graph.nodes) {
    for (const ref of dataInputs(n)) {
      const src = parseRef(ref).node;
      const list = idx.get(src);
      if (list) list.push(n);
      else idx.set(src, [n]);
    }
  }
  return idx;
}

function matchBlock(graph: Graph, consumers: ConsumerIndex, softmax: NodeDef): Omit<AttentionBlock, 'index'> | string {
  // Up from Softmax to Q·Kᵀ through scaling/mask ops, always following the non-constant operand.
  let cur = graph.inputNode(softmax, 0);
  const logitsRef = dataInputs(softmax)[0];
  while (cur && LOGIT_OPS.has(cur.op)) {
    const next = dataInputs(cur)
      .map((r) => graph.tryNode(r))
      .find((n) => n && (MATMUL_OPS.has(n.op) || LOGIT_OPS.has(n.op)));
    cur = next;
  }
  if (!cur || !MATMUL_OPS.has(cur.op)) return 'no BatchMatMul(q, kᵀ) above the Softmax';
  const qk = cur;

  const keysRef = keysOf(graph, qk);
  if (!keysRef) return `Q·Kᵀ '${qk.name}' does not read keys as [B, H, N, d] (adj_y or a Transpose of them)`;

  const pv = (consumers.get(softmax.name) ?? []).find(
    (n) => MATMUL_OPS.has(n.op) && parseRef(dataInputs(n)[0]).node === softmax.name,
  );
  if (!pv) return 'Softmax output does not feed a BatchMatMul(P, v)';

  const ancestors = ancestorSet(graph, qk.name);
  const attnResidual = residualAfter(graph, consumers, pv, ancestors);
  if (!attnResidual) return `no residual Add after P·V '${pv.name}'`;
  const blockInputRef = dataInputs(attnResidual).find((r) => ancestors.has(parseRef(r).node))!;

  const mlpResidual = (consumers.get(attnResidual.name) ?? []).find(
    (n) => ADD_OPS.has(n.op) && dataInputs(n).some((r) => r !== formatRef(attnResidual.name) && r !== attnResidual.name),
  );
  if (!mlpResidual) return `attention residual '${attnResidual.name}' is not followed by an MLP residual Add`;

  return { qk, logitsRef, softmax, pv, keysRef, attnResidual, blockInputRef, mlpResidual };
}

/** The [B, H, N, d] keys tensor feeding Q·Kᵀ. */
function keysOf(graph: Graph, qk: NodeDef): string | undefined {
  const adjY = qk.attr?.adj_y?.b ?? qk.attr?.transpose_b?.b ?? false;
  let ref = dataInputs(qk)[1];
  let node = graph.tryNode(ref);
  while (node && PASS_THROUGH.has(node.op)) {
    ref = dataInputs(node)[0];
    node = graph.tryNode(ref);
  }
  if (adjY) return ref;
  // kᵀ given explicitly as Transpose(k_heads, [0, 1, 3, 2]) or from [B, N, H, d] with [0, 2, 3, 1].
  if (node?.op === 'Transpose') {
    const perm = graph.constValues(dataInputs(node)[1]);
    const p = perm ? Array.from(perm) : [];
    if (p.join() === '0,1,3,2') return dataInputs(node)[0];
  }
  return undefined;
}

/**
 * Follows the single-consumer chain below P·V to the first Add whose other operand comes from
 * above the attention (the residual stream), skipping bias Adds whose other operand is a constant.
 */
function residualAfter(graph: Graph, consumers: ConsumerIndex, pv: NodeDef, ancestors: Set<string>): NodeDef | undefined {
  let cur = pv;
  for (let steps = 0; steps < 32; steps++) {
    // Tensordot-style dense layers read the activation's Shape on a side branch; that is not the data path.
    const next = (consumers.get(cur.name) ?? []).filter((n) => !SHAPE_OPS.has(n.op));
    if (next.length !== 1) return undefined;
    cur = next[0];
    if (ADD_OPS.has(cur.op) && dataInputs(cur).some((r) => ancestors.has(parseRef(r).node))) return cur;
  }
  return undefined;
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
