// The test and benchmark page (bundled by esbuild, served by scripts/browser/harness.ts): functions
// on window.turboPage that Playwright calls with page.evaluate. It imports the package's browser
// entry only, as an app would.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { COMPOSITE_MATCHING_FLAG, CompositeMatching, loadTurboModel, turboMerge, warmup } from '../../src/browser';
import { MergeCase, mergeOptionsOf } from '../ops/merge_case';

setWasmPaths('/wasm/');

export interface RunRequest {
  backend: string;
  /** model.json URLs. */
  models: string[];
  /** float32 NCHW inputs (little-endian) and how many images of them to run. */
  inputUrl: string;
  batch: number;
  matching?: CompositeMatching;
  /** Warm runs to time after the first (0: only the first run). */
  warmRuns?: number;
  /** Call warmup() before the first timed run. */
  warmup?: boolean;
}

export interface ModelRun {
  url: string;
  logits: number[];
  /** ms of the first execute + read-back after loading (after warmup() when asked). */
  firstMs: number;
  warmupMs?: number;
  /** ms of each warm run. */
  warmMs: number[];
}

async function setBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

async function run(req: RunRequest): Promise<{ backend: string; runs: ModelRun[] }> {
  await setBackend(req.backend);
  tf.env().set(COMPOSITE_MATCHING_FLAG, req.matching ?? 'auto');
  const buf = await (await fetch(req.inputUrl)).arrayBuffer();
  const plane = 3 * 224 * 224;
  const input = tf.tensor4d(new Float32Array(buf, 0, req.batch * plane), [req.batch, 3, 224, 224]);
  const runs: ModelRun[] = [];
  for (const url of req.models) {
    const model: GraphModel = await loadTurboModel(url);
    const warmupMs = req.warmup ? await warmup(model, { batch: req.batch }) : undefined;
    const once = async () => {
      const t0 = performance.now();
      const out = model.execute({ pixel_values: input }, 'logits') as tf.Tensor;
      const data = await out.data();
      out.dispose();
      return { ms: performance.now() - t0, data };
    };
    const first = await once();
    const warmMs: number[] = [];
    for (let i = 0; i < (req.warmRuns ?? 0); i++) warmMs.push((await once()).ms);
    runs.push({ url, logits: Array.from(first.data), firstMs: first.ms, warmupMs, warmMs });
    model.dispose();
  }
  input.dispose();
  return { backend: tf.getBackend(), runs };
}


/** The official merge cases on `backend` with `matching`: per case the max |x − expected| and whether sizes match. */
async function mergeCases(backend: string, casesUrl: string, matching: CompositeMatching): Promise<{ maxDiff: number; sizesEqual: boolean }[]> {
  await setBackend(backend);
  tf.env().set(COMPOSITE_MATCHING_FLAG, matching);
  const { cases } = (await (await fetch(casesUrl)).json()) as { cases: MergeCase[] };
  const out = [];
  for (const c of cases) {
    const res = turboMerge(c.x, c.metric, c.attnCls, c.size, mergeOptionsOf(c));
    const x = (await res.x.array()) as number[][][];
    const size = (await res.size.array()) as number[][];
    tf.dispose([res.x, res.size, res.assignment]);
    let maxDiff = x.length === c.expectedX.length ? 0 : Infinity;
    c.expectedX.forEach((rows, b) => {
      if (rows.length !== x[b]?.length) maxDiff = Infinity;
      else rows.forEach((row, t) => row.forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - x[b][t][k])))));
    });
    out.push({ maxDiff, sizesEqual: JSON.stringify(size) === JSON.stringify(c.expectedSize) });
  }
  tf.env().set(COMPOSITE_MATCHING_FLAG, 'auto');
  return out;
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
    turboPage: typeof api;
  }
}
const api = { run, mergeCases, hasBackend };
window.turboPage = api;
