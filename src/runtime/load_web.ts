// Loading and warming up a Turbo model without Node: from a URL or any tf.io handler (fetch in
// the browser, fromMemory anywhere). src/runtime/load.ts adds local directories on top of this.

import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { registerTurboOps } from '../ops/register_core';
import { executeGraph, noteExecution, opsNeedAsync, topologyOps } from './execution';

/** Registers the Turbo ops, then loads the model.json at `url` (or through `handler`). */
export async function loadTurboModel(urlOrHandler: string | tf.io.IOHandler, options?: tf.io.LoadOptions): Promise<GraphModel> {
  registerTurboOps();
  return refuseEmptyBatches(await loadNotingExecution(urlOrHandler, options));
}

/**
 * loadGraphModel through the handler tfjs would pick, with its load() observed so the graph's ops
 * decide execute or executeAsync (runtime/execution.ts) without a second fetch.
 */
export async function loadNotingExecution(urlOrHandler: string | tf.io.IOHandler, options?: tf.io.LoadOptions): Promise<GraphModel> {
  const handler = typeof urlOrHandler === 'string' ? (tf.io.getLoadHandlers(urlOrHandler, options)[0] ?? tf.io.http(urlOrHandler, options)) : urlOrHandler;
  if (!handler.load) return loadGraphModel(handler, options);
  let ops: string[] = [];
  const load = handler.load.bind(handler);
  const observed: tf.io.IOHandler = {
    load: async () => {
      const artifacts = await load();
      ops = topologyOps(artifacts.modelTopology);
      return artifacts;
    },
  };
  return noteExecution(await loadGraphModel(observed, options), opsNeedAsync(ops));
}

type Inputs = tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;

/**
 * Batch 0 otherwise dies inside a dynamic Reshape with a backend-specific message ("divide by zero"
 * on wasm); say what is wrong instead.
 */
export function refuseEmptyBatches(model: GraphModel): GraphModel {
  const check = (inputs: Inputs) => {
    const list = inputs instanceof tf.Tensor ? [inputs] : Array.isArray(inputs) ? inputs : Object.values(inputs);
    for (const t of list) {
      if (t instanceof tf.Tensor && t.rank > 0 && t.shape[0] === 0) {
        throw new Error(`Turbo model: an input has batch size 0 (shape [${t.shape}]); run it on at least one image`);
      }
    }
  };
  const { execute, executeAsync, predict, predictAsync } = model;
  model.execute = (inputs: Inputs, outputs?: string | string[]) => (check(inputs), execute.call(model, inputs, outputs));
  model.executeAsync = (inputs: Inputs, outputs?: string | string[]) => (check(inputs), executeAsync.call(model, inputs, outputs));
  model.predict = (inputs: Inputs, config?: tf.ModelPredictConfig) => (check(inputs), predict.call(model, inputs, config));
  model.predictAsync = (inputs: Inputs, config?: tf.ModelPredictConfig) => (check(inputs), predictAsync.call(model, inputs, config));
  return model;
}

export interface WarmupOptions {
  /** Batch size to compile for (default 1). Shaders depend on shapes, so warm up with the batch you will run. */
  batch?: number;
}

/**
 * Runs the model once on zeros and waits for the result, so a GPU backend compiles every shader
 * before the first real image. A Turbo model's token counts are fixed by its schedule and input
 * size (zeros merge as much as a photo does), so one run meets every shape the model will use.
 * Returns the milliseconds it took (the first-run cost it took off the first real inference).
 */
export async function warmup(model: GraphModel, options: WarmupOptions = {}): Promise<number> {
  const batch = options.batch ?? 1;
  const started = performance.now();
  const inputs: tf.NamedTensorMap = {};
  for (const info of model.inputs) {
    const shape = (info.shape ?? []).map((d, i) => (d === -1 ? (i === 0 ? batch : 1) : d));
    inputs[info.name] = tf.zeros(shape, info.dtype as tf.DataType);
  }
  try {
    const out = await executeGraph(model, inputs);
    const list = out instanceof tf.Tensor ? [out] : out;
    // Reading the outputs waits for the GPU: compilation happens at the first dispatch.
    await Promise.all(list.map((t) => t.data()));
    tf.dispose(list);
  } finally {
    tf.dispose(Object.values(inputs));
  }
  return performance.now() - started;
}
