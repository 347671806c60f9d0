// Shared reading of the embedding stage: where the token sequence is assembled (ConcatV2 of the
// special tokens and the patch tokens) and how many tokens the graph was built for.
// Works on topologies without their shards too (readModelJsonOnly): constant values may then
// be unknown, so every test that reads one has a structural fallback (dtypes, weight shapes,
// the patch convolution's strides and the signature's image size).

import { Graph, dataInputs } from '../../graph/ir';
import { PathPattern, isFailure, matchTensorPath, matchVariants } from '../../graph/match';
import { NodeDef } from '../../graph/types';
import { AttentionBlock } from '../blocks';
import { constShape, isUnknownConst, knownValues } from '../consts';
import { TokenInfo } from './types';

export interface TokenLayout {
  /** The ConcatV2 along the token axis that builds [special tokens..., patches]. */
  concat: NodeDef;
  /** Data inputs of the concat before the patch tokens. */
  specialTokens: number;
  /** Static token count, from the position embedding, a Reshape constant or the patch grid; undefined if unknown. */
  tokenCount: number | undefined;
  /** Every node on a data path from the concat to the first block's input (e.g. a pre-LayerNorm). */
  path: NodeDef[];
}

/** How far up from the first block the token concat may be (embedding stage only). */
const SEARCH_LIMIT = 64;
/** Ops whose inputs after the first are shapes, axes, multiples or slice bounds, not data. */
const FIRST_INPUT_ONLY = new Set([
  'Reshape', 'Tile', 'BroadcastTo', 'StridedSlice', 'Slice', 'ExpandDims', 'Squeeze', 'Transpose', 'Pad',
  'Mean', 'Sum', 'GatherV2',
]);
const SHAPE_OPS = new Set(['Shape', 'ShapeN', 'Size', 'Rank']);

export function readTokenLayout(graph: Graph, first: AttentionBlock): TokenLayout | undefined {
  const concat = findTokenConcat(graph, first.blockInputRef);
  if (!concat) return undefined;
  const specialTokens = dataInputs(concat).length - 2;
  const path = nodesBetween(graph, concat.name, first.blockInputRef);
  const tokenCount =
    positionEmbeddingTokens(graph, path, specialTokens) ??
    staticTokenCount(graph, first) ??
    patchGridTokens(graph, concat, specialTokens);
  return { concat, specialTokens, tokenCount, path };
}

/** The layout, if it has `count` special tokens before the patches; otherwise why not. */
export function tokenLayoutWith(graph: Graph, blocks: AttentionBlock[], count: number, what: string): TokenLayout | string {
  const layout = readTokenLayout(graph, blocks[0]);
  if (!layout) return 'no token concat (special tokens + patches) found before the first block';
  if (layout.specialTokens !== count) return `expected ${count} ${what} before the patches, found ${layout.specialTokens}`;
  return layout;
}

/** Protected tokens and token count for a family with `count` special tokens (the tokens hook). */
export function tokenInfo(graph: Graph, blocks: AttentionBlock[], count: number): TokenInfo | string {
  const layout = tokenLayoutWith(graph, blocks, count, count === 1 ? 'class token' : 'special tokens');
  if (typeof layout === 'string') return layout;
  if (layout.tokenCount === undefined) return 'could not read the static token count';
  return { protectedTokens: count, tokenCount: layout.tokenCount };
}

/** Inputs that carry activations (not shapes, axes or constants). */
function dataPathInputs(graph: Graph, node: NodeDef): NodeDef[] {
  if (SHAPE_OPS.has(node.op)) return [];
  let refs = dataInputs(node);
  if (node.op === 'ConcatV2') refs = refs.slice(0, -1);
  else if (FIRST_INPUT_ONLY.has(node.op)) refs = refs.slice(0, 1);
  return refs.map((r) => graph.tryNode(r)).filter((n): n is NodeDef => !!n && n.op !== 'Const');
}

/** Breadth-first up the data path from the first block's input to the first concat along the token axis. */
function findTokenConcat(graph: Graph, blockInputRef: string): NodeDef | undefined {
  const seen = new Set<string>();
  const start = graph.tryNode(blockInputRef);
  const queue: NodeDef[] = start ? [start] : [];
  while (queue.length && seen.size < SEARCH_LIMIT) {
    const n = queue.shift()!;
    if (seen.has(n.name)) continue;
    seen.add(n.name);
    if (n.op === 'ConcatV2' && isTokenConcat(graph, n)) return n;
    queue.push(...dataPathInputs(graph, n));
  }
  return undefined;
}

/**
 * A float concat of at least two inputs along axis 1 (or -2). Without the shards the axis value
 * is unknown; a float ConcatV2 on the embedding's data path is then taken as the token concat
 * (shape-vector concats are int32 and never on the data path).
 */
function isTokenConcat(graph: Graph, concat: NodeDef): boolean {
  const inputs = dataInputs(concat);
  if (inputs.length < 3) return false;
  const axisRef = inputs[inputs.length - 1];
  const axis = knownValues(graph, axisRef);
  if (axis) return axis.length === 1 && (axis[0] === 1 || axis[0] === -2);
  const dtype = concat.attr?.T?.type;
  return isUnknownConst(graph, axisRef) && (dtype === undefined || dtype === 'DT_FLOAT');
}

/** Nodes that lie on a data path from `from` to `to` (both included). */
function nodesBetween(graph: Graph, from: string, to: string): NodeDef[] {
  const reaches = new Map<string, boolean>();
  const visit = (node: NodeDef, depth: number): boolean => {
    const known = reaches.get(node.name);
    if (known !== undefined) return known;
    reaches.set(node.name, false); // guards against revisits while on the stack
    const hit = node.name === from || (depth < SEARCH_LIMIT && dataPathInputs(graph, node).map((p) => visit(p, depth + 1)).some(Boolean));
    reaches.set(node.name, hit);
    return hit;
  };
  const end = graph.tryNode(to);
  if (!end) return [];
  visit(end, 0);
  return graph.nodes.filter((n) => reaches.get(n.name));
}

/**
 * The position embedding added between the concat and the first block: a constant [1, N, C]
 * (ViT, DeiT) or [N, C] (CLIP), possibly sliced to the current length first (BLIP:
 * StridedSlice(pos[1, N, C], ...)). Its N is the token count.
 */
function positionEmbeddingTokens(graph: Graph, path: NodeDef[], specialTokens: number): number | undefined {
  for (const add of path.filter((n) => n.op === 'AddV2' || n.op === 'Add')) {
    for (const ref of dataInputs(add)) {
      const n = tableLength(graph, ref);
      if (n !== undefined && n > specialTokens) return n;
    }
  }
  return undefined;
}

function tableLength(graph: Graph, ref: string): number | undefined {
  const node = graph.tryNode(ref);
  if (node?.op === 'StridedSlice' || node?.op === 'Slice') return tableLength(graph, dataInputs(node)[0]);
  const shape = constShape(graph, ref);
  if (!shape) return undefined;
  if (shape.length === 3 && shape[0] === 1) return shape[1];
  if (shape.length === 2) return shape[0];
  return undefined;
}

/**
 * Token count baked into the keys' Reshape, when the embedding did not tell: per-head keys are
 * Transpose(Reshape(k, [-1, N, H, d]), [0, 2, 1, 3]) in HF's TF port and in our converter.
 */
export const KEYS_RESHAPE: PathPattern = {
  name: 'keys = Transpose(Reshape(k, [-1, N, H, d]))',
  steps: [
    { label: 'Identity', ops: ['Identity'], repeat: true },
    { label: 'Transpose to heads', ops: ['Transpose'] },
    {
      label: 'Reshape [-1, N, H, d]',
      ops: ['Reshape'],
      where: (reshape, graph) => {
        const shape = knownValues(graph, dataInputs(reshape)[1]);
        if (!shape) return `Reshape '${reshape.name}' has no constant target of known value`;
        return shape.length === 4 && shape[1] > 0 ? undefined : `Reshape '${reshape.name}' targets [${Array.from(shape)}]`;
      },
    },
  ],
};

/** N of the keys' Reshape target [-1, N, H, d] (KEYS_RESHAPE), or undefined. */
export function staticTokenCount(graph: Graph, block: AttentionBlock): number | undefined {
  const m = matchTensorPath(graph, block.keysRef, KEYS_RESHAPE);
  if (isFailure(m)) return undefined;
  const reshape = m.nodes[m.nodes.length - 1];
  return knownValues(graph, dataInputs(reshape)[1])![1];
}

/**
 * The patch tokens [B, P, C] as converters flatten the patch convolution: a Reshape of its NHWC
 * output. Two variants, by how the convolution's bias is written.
 */
export const PATCH_EMBEDDING: readonly PathPattern[] = [
  {
    name: 'patches = Reshape(_FusedConv2D(image) with bias)',
    steps: [
      { label: 'Identity', ops: ['Identity'], repeat: true },
      { label: 'Reshape to tokens', ops: ['Reshape'] },
      { label: 'patch convolution', ops: ['_FusedConv2D'] },
    ],
  },
  {
    name: 'patches = Reshape(Conv2D(image)) without bias',
    steps: [
      { label: 'Identity', ops: ['Identity'], repeat: true },
      { label: 'Reshape to tokens', ops: ['Reshape'] },
      { label: 'patch convolution', ops: ['Conv2D'] },
    ],
  },
];

/**
 * Patches from the signature's image size and the patch convolution's stride, plus the special
 * tokens: for graphs whose position embedding is gathered rather than a plain constant.
 */
export function patchGridTokens(graph: Graph, concat: NodeDef, specialTokens: number): number | undefined {
  const m = matchVariants(graph, concat, specialTokens, PATCH_EMBEDDING);
  if (Array.isArray(m)) return undefined;
  const n = m.nodes[m.nodes.length - 1];
  const strides = n.attr?.strides?.list?.i?.map(Number);
  const nhwc = (n.attr?.data_format?.s ?? '') !== Buffer.from('NCHW').toString('base64');
  const dims = Object.values(graph.modelJson.signature?.inputs ?? {})[0]?.tensorShape?.dim?.map((d) => Number(d.size));
  if (!strides || !dims || dims.length !== 4) return undefined;
  const [sh, sw] = nhwc ? [strides[1], strides[2]] : [strides[2], strides[3]];
  // Inputs are NCHW (HF) or NHWC; the two spatial sizes are the ones that are not 3 channels.
  const [h, w] = dims[1] === 3 ? [dims[2], dims[3]] : [dims[1], dims[2]];
  if (!(h > 0 && w > 0 && sh > 0 && sw > 0)) return undefined;
  return Math.floor(h / sh) * Math.floor(w / sw) + specialTokens;
}
