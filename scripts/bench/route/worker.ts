// One engine of bench-route in its own process (TensorFlow fixes its thread pools and reads
// TF_ENABLE_ONEDNN_OPTS when it loads, so each setting is a process): 'session' and 'op-by-op' are
// loadTurboModel's two routes on the tensorflow backend, 'onnxruntime' the peer. The parent sets the
// thread count and the environment and interleaves; this side loads and times (src/runtime/timing.ts).

import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../../src/runtime/backend';
import { TurboRoute, loadTurboModel } from '../../../src/runtime/load';
import { timeOnce } from '../../../src/runtime/timing';
import { readInputs } from '../inputs';
import { loadOrt, ortRunner } from '../onnx';
import { Runner, TfjsRunner } from '../runners';

export type RouteEngine = TurboRoute | 'onnxruntime';
export type RouteRequest = { cmd: 'load'; files: string[]; threads: number } | { cmd: 'run'; variant: number; batch: number; keepOutput: boolean } | { cmd: 'unload' };

const engine = process.argv[2] as RouteEngine;
const inputs = readInputs();
let runners: Runner[] = [];

async function load(files: string[], threads: number): Promise<string> {
  await unload();
  if (engine === 'onnxruntime') {
    const { ort, version, why } = await loadOrt();
    if (!ort) throw new Error(why);
    for (const f of files) runners.push(await ortRunner(ort, f, f, threads, inputs));
    return `onnxruntime-node ${version}`;
  }
  await useBackend('tensorflow');
  for (const f of files) {
    const model = await loadTurboModel(f, { route: engine });
    if (model.route !== engine) throw new Error(`${f} loaded on route ${model.route}, not ${engine}`);
    runners.push(new TfjsRunner(f, model, inputs));
  }
  const binding = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding;
  return `TensorFlow ${binding.TF_Version} (tfjs-node), TF_ENABLE_ONEDNN_OPTS=${process.env.TF_ENABLE_ONEDNN_OPTS ?? 'unset'}`;
}

async function unload(): Promise<void> {
  for (const r of runners) await r.dispose();
  runners = [];
}

process.on('message', async (req: RouteRequest) => {
  let reply;
  try {
    if (req.cmd === 'load') reply = { ok: true, value: await load(req.files, req.threads) };
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

