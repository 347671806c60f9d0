// One interface over everything the benchmarks run (tfjs graph models here, onnxruntime sessions in
// onnx.ts, SavedModels in savedmodel/worker.ts): run a batch of the parity images, get the logits.

import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { Graph } from '../../src/graph/ir';
import { graphToArtifacts } from '../../src/graph/model_io';
import { IMAGE, Inputs } from './inputs';
import { Timed, timeOnce } from '../../src/runtime/timing';

export interface Runner {
  label: string;
  /** Runs the network on `batch` images and returns the logits (copied out). */
  run: (batch: number) => Promise<Float32Array>;
  dispose: () => Promise<void> | void;
}

/** A runner as interleave() takes it: timed here, its logits as the value. */
export function timedRunner(r: Runner, batch: number): Timed<Float32Array> {
  return { label: r.label, run: () => timeOnce(() => r.run(batch)) };
}

export class TfjsRunner implements Runner {
  private sync = true;
  private tensors = new Map<number, tf.Tensor>();
  constructor(
    readonly label: string,
    readonly model: GraphModel,
    private readonly inputs: Inputs,
  ) {}

  input(batch: number): tf.Tensor {
    let t = this.tensors.get(batch);
    if (!t) {
      t = tf.tensor(this.inputs.forBatch(batch), [batch, ...IMAGE], 'float32');
      this.tensors.set(batch, t);
    }
    return t;
  }

  /** The logits tensor; execute() where the graph allows it (no dynamic ops), else executeAsync(). */
  async forward(batch: number): Promise<tf.Tensor> {
    const feed = { [this.model.inputs[0].name]: this.input(batch) };
    if (this.sync) {
      try {
        return this.model.execute(feed) as tf.Tensor;
      } catch (e) {
        if (!/executeAsync|dynamic/i.test((e as Error).message)) throw e;
        this.sync = false;
      }
    }
    return (await this.model.executeAsync(feed)) as tf.Tensor;
  }

  async run(batch: number): Promise<Float32Array> {
    const out = await this.forward(batch);
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return values;
  }

  get mode(): string {
    return this.sync ? 'execute' : 'executeAsync';
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
    this.model.dispose();
  }
}

export async function tfjsRunner(label: string, graph: Graph, inputs: Inputs): Promise<TfjsRunner> {
  return new TfjsRunner(label, await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph))), inputs);
}
