// A graph model run by TensorFlow as one graph: one session call per execute, instead of tfjs's
// executor dispatching some 900 kernels one by one (each ~10 µs on tfjs-node, plus the executor's own
// walk: docs/BENCHMARKS.md). It is a GraphModel to its callers (the type every loader and pipeline
// takes), answering execute / executeAsync / predict / predictAsync with the same input and output
// naming rules (signature keys or node names, "node:k" for other outputs than the first), any batch
// size, and the token counts the graph computes.
//
// tfjs-node has no public way to run arbitrary fetches of a SavedModel (TFSavedModel.execute throws
// "not supported"), but its backend's runSavedModel takes any tensor names: that is what we call.

import * as tf from '@tensorflow/tfjs-core';
import { GraphModel } from '@tensorflow/tfjs-converter';
import type { SessionGraphEntry } from './cache';

type Inputs = tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;

/** The part of tfjs-node's NodeJSKernelBackend the session route uses. */
interface NodeBackend {
  loadSavedModelMetaGraph(dir: string, tags: string): number;
  runSavedModel(id: number, inputs: tf.Tensor[], infos: { name: string; tfDtype: string }[], outputs: string[]): tf.Tensor[];
  deleteSavedModel(id: number): void;
}

/** Opens a TensorFlow session on the SavedModel in `dir` (tag 'serve'); the graph is in memory once this returns. */
export function openSession(dir: string): { backend: NodeBackend; id: number } {
  const backend = tf.findBackend('tensorflow') as unknown as NodeBackend | undefined;
  if (!backend || typeof backend.loadSavedModelMetaGraph !== 'function') throw new Error('the tensorflow backend (tfjs-node) is not loaded');
  return { backend, id: backend.loadSavedModelMetaGraph(dir, 'serve') };
}

const DTYPES: Record<string, tf.DataType> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_INT64: 'int32', DT_BOOL: 'bool', DT_STRING: 'string' };

export class SessionGraphModel extends GraphModel {
  readonly route = 'session' as const;
  private readonly nodeSet: Set<string>;
  private closed = false;

  constructor(
    private readonly session: { backend: NodeBackend; id: number },
    private readonly entry: SessionGraphEntry,
    private readonly meta: { source: string; userDefinedMetadata?: {} },
  ) {
    super(meta.source);
    this.nodeSet = new Set(entry.nodes);
  }

  override get inputs(): tf.ModelTensorInfo[] {
    return Object.entries(this.entry.signature.inputs).map(([key, i]) => info(key, i.dtype, i.tensorShape));
  }

  override get outputs(): tf.ModelTensorInfo[] {
    return Object.entries(this.entry.signature.outputs).map(([key, i]) => info(key, i.dtype, i.tensorShape));
  }

  override get inputNodes(): string[] {
    return Object.keys(this.entry.signature.inputs);
  }

  override get outputNodes(): string[] {
    return Object.keys(this.entry.signature.outputs);
  }

  override get metadata(): {} {
    return this.meta.userDefinedMetadata ?? {};
  }

  override get modelSignature(): {} {
    return this.entry.signature;
  }

  override execute(inputs: Inputs, outputs?: string | string[]): tf.Tensor | tf.Tensor[] {
    if (this.closed) throw new Error('this Turbo model was disposed');
    const feeds = this.feeds(inputs);
    const names = outputs === undefined ? this.outputNodes : Array.isArray(outputs) ? outputs : [outputs];
    const fetches = names.map((n) => this.fetchName(n));
    const result = this.session.backend.runSavedModel(this.session.id, feeds.tensors, feeds.infos, fetches);
    // GraphModel.execute's shape of answer: one tensor unless several were asked for.
    return result.length > 1 ? result : result[0];
  }

  override async executeAsync(inputs: Inputs, outputs?: string | string[]): Promise<tf.Tensor | tf.Tensor[]> {
    return this.execute(inputs, outputs);
  }

  override predict(inputs: Inputs): tf.Tensor | tf.Tensor[] | tf.NamedTensorMap {
    return this.execute(inputs);
  }

  override async predictAsync(inputs: Inputs): Promise<tf.Tensor | tf.Tensor[] | tf.NamedTensorMap> {
    return this.execute(inputs);
  }

  override dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.backend.deleteSavedModel(this.session.id);
  }

  /** Tensors in placeholder order with the TensorFlow names they feed (signature keys or placeholder names). */
  private feeds(inputs: Inputs): { tensors: tf.Tensor[]; infos: { name: string; tfDtype: string }[] } {
    const keys = this.inputNodes;
    let named: [string, tf.Tensor][];
    if (inputs instanceof tf.Tensor || Array.isArray(inputs)) {
      const list = inputs instanceof tf.Tensor ? [inputs] : inputs;
      if (list.length !== keys.length) throw new Error(`Input tensor count mismatch: the model has ${keys.length} inputs (${keys.join(', ')}), ${list.length} were given`);
      named = keys.map((k, i) => [k, list[i]]);
    } else {
      named = Object.entries(inputs);
    }
    const tensors: tf.Tensor[] = [];
    const infos: { name: string; tfDtype: string }[] = [];
    for (const [key, t] of named) {
      const tensorName = this.entry.signature.inputs[key]?.name ?? `${key.replace(/:0$/, '')}:0`;
      const node = tensorName.replace(/:\d+$/, '');
      const tfDtype = this.entry.placeholders[node];
      if (!tfDtype) throw new Error(`'${key}' is not an input of this model (inputs: ${keys.join(', ')}); the session route feeds placeholders only (use route 'op-by-op' to feed intermediate nodes)`);
      if (t.rank > 0 && t.shape[0] === 0) throw new Error(`Turbo model: an input has batch size 0 (shape [${t.shape}]); run it on at least one image`);
      tensors.push(t);
      infos.push({ name: tensorName, tfDtype });
    }
    const fed = new Set(infos.map((i) => i.name.replace(/:\d+$/, '')));
    const missing = Object.keys(this.entry.placeholders).filter((p) => !fed.has(p));
    if (missing.length) throw new Error(`the model needs a value for ${missing.join(', ')}`);
    return { tensors, infos };
  }

  /** A signature key, "node" or "node:k" as a TensorFlow tensor name, refusing nodes the written graph lacks. */
  private fetchName(name: string): string {
    const sig = this.entry.signature.outputs[name];
    if (sig) return sig.name;
    const [node, k] = name.split(':');
    if (!this.nodeSet.has(node)) {
      throw new Error(`'${name}' is not a node of the graph TensorFlow runs (the writer fuses some subgraphs, docs/SAVEDMODEL.md); outputs: ${this.outputNodes.join(', ')}; load with { route: 'op-by-op' } to read any node`);
    }
    return `${node}:${k ?? '0'}`;
  }
}

function info(name: string, dtype: string, shape: { dim?: { size?: string | number }[]; unknownRank?: boolean }): tf.ModelTensorInfo {
  return {
    name,
    dtype: DTYPES[dtype] ?? 'float32',
    tfDtype: dtype,
    ...(shape.unknownRank || !shape.dim ? {} : { shape: shape.dim.map((d) => Number(d.size ?? -1)) }),
  };
}
