// One engine of bench-savedmodel in its own process: 'savedmodel' (TensorFlow through tfjs-node,
// each model a SavedModel run in one session call) or 'onnxruntime'. Both with 1 thread: the
// parent starts this process with TF_NUM_INTRAOP_THREADS=1 / TF_NUM_INTEROP_THREADS=1, and
// onnxruntime sessions get intraOpNumThreads 1. The parent interleaves; this side loads and times
// (src/runtime/timing.ts).

import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../../src/runtime/backend';
import { loadTurboOpLibrary } from '../../../src/native/op_library';
import { TurboSavedModel, loadTurboSavedModel } from '../../../src/savedmodel/load';
import { IMAGE, readInputs } from '../inputs';
import { loadOrt, ortRunner } from '../onnx';
import { Runner } from '../runners';
import { RunnerRequest, serveRunners } from '../worker_process';

export type SmEngine = 'savedmodel' | 'onnxruntime';
export type SmRequest = RunnerRequest<{ cmd: 'load'; files: string[] }>;

const engine = process.argv[2] as SmEngine;
const inputs = readInputs();

function savedModelRunner(label: string, model: TurboSavedModel): Runner {
  const feeds = new Map<number, tf.Tensor>();
  return {
    label,
    run: async (batch) => {
      let x = feeds.get(batch);
      if (!x) feeds.set(batch, (x = tf.tensor(inputs.forBatch(batch), [batch, ...IMAGE], 'float32')));
      const out = model.predict(x) as tf.Tensor;
      const values = (await out.data()) as Float32Array;
      out.dispose();
      return values;
    },
    dispose: () => {
      tf.dispose([...feeds.values()]);
      model.dispose();
    },
  };
}

serveRunners<{ cmd: 'load'; files: string[] }>(async ({ files }) => {
  const runners: Runner[] = [];
  if (engine === 'onnxruntime') {
    const { ort, version, why } = await loadOrt();
    if (!ort) throw new Error(why);
    for (const f of files) runners.push(await ortRunner(ort, f, f, 1, inputs));
    return { runners, engine: `onnxruntime-node ${version}, 1 thread (intraOpNumThreads 1, sequential)` };
  }
  await useBackend('tensorflow');
  for (const f of files) runners.push(savedModelRunner(f, await loadTurboSavedModel(f)));
  const binding = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding;
  const lib = loadTurboOpLibrary();
  return {
    runners,
    engine: `TensorFlow ${binding.TF_Version} through tfjs-node 4.22.0 (tf.node.loadSavedModel), 1 thread (TF_NUM_INTRAOP_THREADS=1, TF_NUM_INTEROP_THREADS=1)${lib.loaded ? ', Turbo op library loaded' : ''}`,
  };
});
