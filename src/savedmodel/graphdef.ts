// Graph IR -> TensorFlow GraphDef (as a protobufjs plain object, see proto.ts).
//
// model.json's nodes already are GraphDef JSON, so most nodes pass through unchanged. What
// changes on the way:
//  - Const nodes get their value: tfjs keeps constants in the weight shards and leaves
//    `value.tensor` without content; here the (dequantized) bytes become `tensor_content`.
//  - `device` placements from the exporting machine are dropped, so TensorFlow places the graph.
//  - TurboMerge gets its `N` attr: the native op declares the optional size input as a list
//    `size: N * float` (N = 0 in the first merging block, 1 after), which TensorFlow's NodeDef
//    validation needs spelled out; tfjs reads the inputs positionally and never needed it.
//  - Fused ops TensorFlow cannot run are split into plain ops (split_fused.ts).
//  - LayerNorm, dense + GELU and q/k/v projection subgraphs are rewritten into what TensorFlow
//    runs as fewer, fused kernels (fuse.ts), unless the caller turns that off.
// Both are passes over a copy of the graph (the caller's is left as it was), followed by one
// topological sort; each pass puts what it writes where the nodes it replaces stood, so a sorted
// model.json keeps its order.

import { GraphError } from '../errors';
import { Graph, decodeWeight } from '../graph/ir';
import { AttrValue, NodeDef, StoredWeight, TensorProto } from '../graph/types';
import { NATIVE_TURBO_OPS, TURBO_OPS } from '../ops/op_sets';
import { FuseOptions, fuseForTensorFlow } from './fuse';
import { TF_GRAPH_DEF_VERSION } from './proto';
import { splitFusedOps } from './split_fused';

export interface GraphDefObject {
  node: Record<string, unknown>[];
  versions: { producer: number; minConsumer?: number };
  library?: unknown;
}

/** The GraphDef of `graph`; errors name `source` (the model.json it came from). `fuse` false writes the ops as they are. */
export function toGraphDef(graph: Graph, source: string, fuse: FuseOptions | false = {}): GraphDefObject {
  refuseNonNativeOps(graph, source);
  const written = graph.copy();
  splitFusedOps(written, source);
  if (fuse !== false) fuseForTensorFlow(written, fuse);
  written.topoSort();
  const nodes = written.nodes.map((n) => toNodeDef(written, n, source));
  const library = graph.modelJson.modelTopology.library as { function?: unknown[] } | undefined;
  return {
    node: nodes,
    versions: producerVersions(graph.modelJson.modelTopology.versions),
    // tensorflowjs_converter writes `library: {}`; a non-empty one (functions for control flow) is kept.
    ...(library && Array.isArray(library.function) && library.function.length ? { library } : {}),
  };
}

/** A Turbo op with no TensorFlow kernel would only fail later, when TensorFlow loads the graph. */
function refuseNonNativeOps(graph: Graph, source: string): void {
  const node = graph.nodes.find((n) => TURBO_OPS.has(n.op) && !NATIVE_TURBO_OPS.has(n.op));
  if (node) {
    throw new GraphError(source, `node '${node.name}' runs ${node.op}, which has no TensorFlow kernel (BLIP's text-side dropping runs in tfjs only); write this graph as a tfjs graph model`);
  }
}

/** Whether the graph needs the Turbo op library to run. */
export function usesTurboOps(graph: Graph): boolean {
  return graph.nodes.some((n) => NATIVE_TURBO_OPS.has(n.op));
}

function toNodeDef(graph: Graph, node: NodeDef, source: string): Record<string, unknown> {
  const { device: _device, ...rest } = node;
  const out: Record<string, unknown> = { ...rest, attr: { ...(node.attr ?? {}) } };
  const attr = out.attr as Record<string, AttrValue>;
  if (node.op === 'Const') {
    const weight = graph.weights.get(node.name);
    if (weight) attr.value = { tensor: widenInt64(constTensor(weight, source), attr.dtype?.type) };
  }
  if (node.op === 'TurboMerge') attr.N = { i: String(Math.max(0, (node.input ?? []).filter((r) => !r.startsWith('^')).length - 3)) };
  return out;
}

/** A TensorProto holding a stored weight; quantized weights are written dequantized, as tfjs runs them. */
function constTensor(weight: StoredWeight, source: string): TensorProto {
  const { spec } = weight;
  let dtype: string;
  let content: Uint8Array;
  if (!spec.quantization && (spec.dtype === 'float32' || spec.dtype === 'int32')) {
    dtype = spec.dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32';
    content = weight.bytes;
  } else if (spec.dtype === 'bool') {
    dtype = 'DT_BOOL';
    content = weight.bytes; // one byte per element, as TensorFlow stores bools
  } else if (spec.dtype === 'float32' || spec.dtype === 'int32') {
    const values = decodeWeight(weight);
    dtype = values instanceof Int32Array ? 'DT_INT32' : 'DT_FLOAT';
    content = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  } else {
    throw new GraphError(source, `constant '${spec.name}' has dtype ${spec.dtype}, which the SavedModel writer does not support`);
  }
  // TensorFlow reads tensor_content as little-endian bytes, which is what the shards hold on every
  // platform Node runs on (tfjs writes little-endian too).
  return { dtype, tensorShape: { dim: spec.shape.map((s) => ({ size: String(s) })) }, tensorContent: content };
}

/**
 * tensorflowjs_converter stores int64 constants as int32 weights and keeps the node's DT_INT64
 * dtype; TensorFlow refuses such a Const at run time ("Type mismatch between value (int32) and
 * dtype (int64)"), so the values are widened back to the dtype the graph declares.
 */
function widenInt64(tensor: TensorProto, declared: string | undefined): TensorProto {
  if (declared !== 'DT_INT64' || tensor.dtype !== 'DT_INT32') return tensor;
  const content = tensor.tensorContent as Uint8Array;
  const narrow = new Int32Array(content.buffer.slice(content.byteOffset, content.byteOffset + content.byteLength));
  const wide = new BigInt64Array(narrow.length);
  for (let i = 0; i < narrow.length; i++) wide[i] = BigInt(narrow[i]);
  return { ...tensor, dtype: 'DT_INT64', tensorContent: new Uint8Array(wide.buffer) };
}

/**
 * GraphDef versions: the exporter's when model.json has them (tensorflowjs_converter copies the
 * producer of the TensorFlow that exported), else TensorFlow 2.12's, the version our .proto files
 * and op library come from. Only `producer` matters for loading: it selects op semantics.
 */
function producerVersions(v: unknown): GraphDefObject['versions'] {
  const producer = Number((v as { producer?: unknown } | undefined)?.producer);
  return { producer: Number.isInteger(producer) && producer > 0 ? producer : TF_GRAPH_DEF_VERSION };
}
