// The serving_default SignatureDef of a graph: model.json's own signature when it has one
// (tensorflowjs_converter copies the exporter's: pixel_values -> logits), else the Placeholders as
// inputs and the graph's sinks as outputs, each keyed by its node name.

import { GraphError } from '../errors';
import { Graph, parseRef } from '../graph/ir';
import { SignatureEntry, TensorShapeProto } from '../graph/types';

export const SERVING_SIGNATURE = 'serving_default';
export const SERVE_TAG = 'serve';
export const BLOCKS_SIGNATURE = 'turbo_blocks';
const PREDICT_METHOD = 'tensorflow/serving/predict';

export interface TensorInfoObject {
  name: string;
  dtype: string;
  /** Always set: tfjs-node's loadSavedModel reads every TensorInfo's shape (unknownRank when not known). */
  tensorShape: TensorShapeProto;
}

const UNKNOWN_SHAPE: TensorShapeProto = { unknownRank: true };

export interface SignatureDefObject {
  inputs: Record<string, TensorInfoObject>;
  outputs: Record<string, TensorInfoObject>;
  methodName: string;
}

export function servingSignature(graph: Graph, source: string): SignatureDefObject {
  const sig = graph.modelJson.signature;
  const inputs = sig?.inputs && Object.keys(sig.inputs).length ? mapEntries(sig.inputs) : placeholderInputs(graph);
  const outputs = sig?.outputs && Object.keys(sig.outputs).length ? mapEntries(sig.outputs) : sinkOutputs(graph);
  if (!Object.keys(inputs).length) throw new GraphError(source, 'the graph has no input (no signature inputs and no Placeholder)');
  if (!Object.keys(outputs).length) throw new GraphError(source, 'the graph has no output');
  for (const [side, entries] of [['input', inputs], ['output', outputs]] as const) {
    for (const [key, info] of Object.entries(entries)) {
      if (!graph.has(parseRef(info.name).node)) throw new GraphError(source, `signature ${side} '${key}' names '${info.name}', which is not in the graph`);
    }
  }
  return { inputs, outputs, methodName: PREDICT_METHOD };
}

function mapEntries(entries: Record<string, SignatureEntry>): Record<string, TensorInfoObject> {
  return Object.fromEntries(
    Object.entries(entries).map(([key, e]) => [key, { name: tensorName(e.name), dtype: e.dtype, tensorShape: e.tensorShape ?? UNKNOWN_SHAPE }]),
  );
}

/** TensorInfo names are tensor names: "node:output", with the ":0" TensorFlow requires spelled out. */
function tensorName(ref: string): string {
  const { node, output } = parseRef(ref);
  return `${node}:${output}`;
}

function placeholderInputs(graph: Graph): Record<string, TensorInfoObject> {
  const entries = graph.nodes
    .filter((n) => n.op === 'Placeholder')
    .map((n) => [n.name, { name: `${n.name}:0`, dtype: n.attr?.dtype?.type ?? 'DT_FLOAT', tensorShape: n.attr?.shape?.shape ?? UNKNOWN_SHAPE }] as const);
  return Object.fromEntries(entries);
}

function sinkOutputs(graph: Graph): Record<string, TensorInfoObject> {
  return Object.fromEntries(
    graph
      .outputNames()
      .filter((name) => graph.tryNode(name)?.op !== 'Placeholder')
      .map((name) => {
        const node = graph.node(name);
        const dtype = node.attr?.T?.type ?? node.attr?.dtype?.type ?? 'DT_FLOAT';
        return [parseRef(name).node, { name: tensorName(name), dtype, tensorShape: UNKNOWN_SHAPE }];
      }),
  );
}

/** serving_default's inputs, and each block's output of a Turbo model (from its metadata) as block_<i>. */
export function blockOutputsSignature(graph: Graph, serving: SignatureDefObject, source: string): SignatureDefObject {
  const turbo = graph.modelJson.userDefinedMetadata?.turbo as { blocks?: { output?: unknown }[] } | undefined;
  const blocks = turbo?.blocks ?? [];
  if (!blocks.length) throw new GraphError(source, `the ${BLOCKS_SIGNATURE} signature needs a Turbo model (userDefinedMetadata.turbo.blocks)`);
  const outputs = Object.fromEntries(
    blocks.map((b, i) => {
      const name = String(b.output);
      if (!graph.has(name)) throw new GraphError(source, `Turbo block ${i} output '${name}' is not in the graph`);
      return [`block_${i}`, { name: tensorName(name), dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '-1' }, { size: '-1' }, { size: '-1' }] } }];
    }),
  );
  return { inputs: serving.inputs, outputs, methodName: PREDICT_METHOD };
}
