// The browser benchmark's page (scripts/bench-browser.ts bundles it): window.turboBench times an
// original and its Turbo model interleaved in one page, so both see the same load, through the
// public API (loadTurboModel, warmup) as an app would, and the merge alone.
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { loadTurboModel, registerFusedKernels, turboMerge, unregisterFusedKernels, warmup } from '../../src/browser';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

setWasmPaths('/wasm/');

export interface InterleavedRequest {
  backend: string;
  /** model.json URLs: the original first, then its Turbo rewrite. */
  models: string[];
  /** float32 NCHW inputs (little-endian); the first `batch` images are used. */
  inputUrl: string;
  batch: number;
  /** Warm runs per model, alternating between the models. */
  warmRuns: number;
}

export interface ModelTimes {
  url: string;
  warmupMs: number;
  /** The first execute + read-back after warmup(). */
  firstMs: number;
  warmMs: number[];
  /** Whether every logit is finite (a broken GPU path shows here as NaN or as zeros). */
  finite: boolean;
  maxAbsLogit: number;
}

async function setBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

/** warmup() each model, its first run after, then `warmRuns` runs of each, alternating. */
async function interleaved(req: InterleavedRequest): Promise<ModelTimes[]> {
  await setBackend(req.backend);
  const buf = await (await fetch(req.inputUrl)).arrayBuffer();
  const plane = 3 * 224 * 224;
  const available = buf.byteLength / 4 / plane;
  // Fewer images in the file than the batch: repeat them (speed does not depend on the pixels).
  const data = new Float32Array(req.batch * plane);
  for (let b = 0; b < req.batch; b++) data.set(new Float32Array(buf, (b % available) * plane * 4, plane), b * plane);
  const input = tf.tensor4d(data, [req.batch, 3, 224, 224]);
  const models: GraphModel[] = [];
  const times: ModelTimes[] = [];
  const once = async (model: GraphModel) => {
    const t0 = performance.now();
    const out = model.execute({ pixel_values: input }, 'logits') as tf.Tensor;
    const logits = (await out.data()) as Float32Array;
    out.dispose();
    return { ms: performance.now() - t0, logits };
  };
  try {
    for (const url of req.models) {
      const model = await loadTurboModel(url);
      models.push(model);
      const warmupMs = await warmup(model, { batch: req.batch });
      const first = await once(model);
      let maxAbs = 0;
      for (const v of first.logits) maxAbs = Math.max(maxAbs, Math.abs(v));
      times.push({ url, warmupMs, firstMs: first.ms, warmMs: [], finite: first.logits.every(Number.isFinite), maxAbsLogit: maxAbs });
    }
    for (let i = 0; i < req.warmRuns; i++) {
      for (const [k, model] of models.entries()) times[k].warmMs.push((await once(model)).ms);
    }
    return times;
  } finally {
    for (const m of models) m.dispose();
    input.dispose();
  }
}

/**
 * Median ms of one TurboMerge at a ViT's first block (x [batch, 197, channels], metric
 * [batch, 197, 64], r = 16) with `kernels`, until its last output (the new sizes) is read back: the
 * merge's own time per block, the read-back of a small result included. Inputs stay on the GPU.
 */
async function timeMergeAt(backend: string, kernels: 'fused' | 'composite', batch: number, channels: number, runs: number): Promise<number> {
  await setBackend(backend);
  if (kernels === 'composite') unregisterFusedKernels();
  const inputs = tf.tidy(() =>
    [tf.randomNormal([batch, 197, channels]), tf.randomNormal([batch, 197, 64]), tf.randomUniform([batch, 197], 0, 0.1), tf.ones([batch, 197])].map((t) => tf.mul(t, 1)),
  );
  try {
    await Promise.all(inputs.map((t) => t.data()));
    const once = async () => {
      const t0 = performance.now();
      const m = turboMerge(inputs[0], inputs[1], inputs[2] as tf.Tensor2D, inputs[3] as tf.Tensor2D, { r: 16, alpha: 5 });
      await m.size.data();
      const ms = performance.now() - t0;
      tf.dispose([m.x, m.size, m.assignment]);
      return ms;
    };
    await once(); // compiles
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await once());
    return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  } finally {
    tf.dispose(inputs);
    registerFusedKernels();
  }
}

/** Whether the backend initialises here (webgpu needs an adapter). */
async function hasBackend(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

declare global {
  interface Window {
    turboBench: typeof bench;
  }
}
const bench = { interleaved, timeMergeAt, hasBackend };
window.turboBench = bench;
