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
import { timeOnce } from '../../../src/runtime/timing';

export type SmEngine = 'savedmodel' | 'onnxruntime';
export type SmRequest = { cmd: 'load'; files: string[] } | { cmd: 'run'; variant: number; batch: number; keepOutput: boolean } | { cmd: 'unload' };
export type SmReply = { ok: true; value: unknown } | { ok: false; error: string };

const engine = process.argv[2] as SmEngine;
const inputs = readInputs();
let runners: Runner[] = [];

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

async function load(files: string[]): Promise<string> {
  await unload();
  if (engine === 'onnxruntime') {
    const { ort, version, why } = await loadOrt();
    if (!ort) throw new Error(why);
    for (const f of files) runners.push(await ortRunner(ort, f, f, 1, inputs));
    return `onnxruntime-node ${version}, 1 thread (intraOpNumThreads 1, sequential)`;
  }
  await useBackend('tensorflow');
  for (const f of files) runners.push(savedModelRunner(f, await loadTurboSavedModel(f)));
  const binding = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding;
  const lib = loadTurboOpLibrary();
  return `TensorFlow ${binding.TF_Version} through tfjs-node 4.22.0 (tf.node.loadSavedModel), 1 thread (TF_NUM_INTRAOP_THREADS=1, TF_NUM_INTEROP_THREADS=1)${lib.loaded ? ', Turbo op library loaded' : ''}`;
}

async function unload(): Promise<void> {
  for (const r of runners) await r.dispose();
  runners = [];
}

process.on('message', async (req: SmRequest) => {
  let reply: SmReply;
  try {
    if (req.cmd === 'load') reply = { ok: true, value: await load(req.files) };
    else if (req.cmd === 'run') {
      const t = await timeOnce(() => runners[req.variant].run(req.batch));
      reply = { ok: true, value: { wallMs: t.wallMs, cpuMs: t.cpuMs, output: req.keepOutput ? Array.from(t.value) : undefined } };
    } else {
      await unload();
      reply = { ok: true, value: null };
    }
  } catch (e) {
    reply = { ok: false, error: (e as Error).message.split('\n')[0] };
  }
  process.send!(reply);
});
