// One engine of bench-route in its own process (TensorFlow fixes its thread pools and reads
// TF_ENABLE_ONEDNN_OPTS when it loads, so each setting is a process): 'session' and 'op-by-op' are
// loadTurboModel's two routes on the tensorflow backend, 'onnxruntime' the peer. The parent sets the
// thread count and the environment and interleaves; this side loads and times (src/runtime/timing.ts).

import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../../../src/runtime/backend';
import { TurboRoute, loadTurboModel } from '../../../src/runtime/load';
import { readInputs } from '../inputs';
import { loadOrt, ortRunner } from '../onnx';
import { Runner, TfjsRunner } from '../runners';
import { RunnerRequest, serveRunners } from '../worker_process';

export type RouteEngine = TurboRoute | 'onnxruntime';
export type RouteRequest = RunnerRequest<{ cmd: 'load'; files: string[]; threads: number }>;

const engine = process.argv[2] as RouteEngine;
const inputs = readInputs();

serveRunners<{ cmd: 'load'; files: string[]; threads: number }>(async ({ files, threads }) => {
  const runners: Runner[] = [];
  if (engine === 'onnxruntime') {
    const { ort, version, why } = await loadOrt();
    if (!ort) throw new Error(why);
    for (const f of files) runners.push(await ortRunner(ort, f, f, threads, inputs));
    return { runners, engine: `onnxruntime-node ${version}` };
  }
  await useBackend('tensorflow');
  for (const f of files) {
    const model = await loadTurboModel(f, { route: engine });
    if (model.route !== engine) throw new Error(`${f} loaded on route ${model.route}, not ${engine}`);
    runners.push(new TfjsRunner(f, model, inputs));
  }
  const binding = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding;
  return { runners, engine: `TensorFlow ${binding.TF_Version} (tfjs-node), TF_ENABLE_ONEDNN_OPTS=${process.env.TF_ENABLE_ONEDNN_OPTS ?? 'unset'}` };
});
