// The test and benchmark page (bundled by esbuild, served by scripts/browser/harness.ts): functions
// on window.turboPage that Playwright calls with page.evaluate. It imports the package's browser
// entry only, as an app would.
import * as tf from '@tensorflow/tfjs-core';
import { countingReads, trySetBackend } from './page_helpers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import {
  COMPOSITE_MATCHING_FLAG,
  CompositeMatching,
  hasFusedKernel,
  loadTurboModel,
  proportionalAttentionBias,
  registerFusedKernels,
  turboMerge,
  turboUnmerge,
  unregisterFusedKernels,
  warmup,
} from '../../src/browser';
import type { TurboMergeOptions } from '../../src/browser';
import { MergeCase, mergeOptionsOf } from '../ops/merge_case';
import { mulberry32 } from '../../src/rng';

setWasmPaths('/wasm/');

export interface RunRequest {
  backend: string;
  /** model.json URLs. */
  models: string[];
  /** float32 NCHW inputs (little-endian) and how many images of them to run. */
  inputUrl: string;
  batch: number;
  matching?: CompositeMatching;
  /** 'composite': the composite kernels in place of the fused ones for this run (default 'fused'). */
  kernels?: 'fused' | 'composite';
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
  if (req.kernels === 'composite') unregisterFusedKernels();
  try {
    return await runModels(req);
  } finally {
    registerFusedKernels();
  }
}

async function runModels(req: RunRequest): Promise<{ backend: string; runs: ModelRun[] }> {
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


/** The official merge cases on `backend` through the composite kernel with `matching`: per case the max |x − expected| and whether sizes match. */
async function mergeCases(backend: string, casesUrl: string, matching: CompositeMatching): Promise<{ maxDiff: number; sizesEqual: boolean }[]> {
  await setBackend(backend);
  unregisterFusedKernels();
  tf.env().set(COMPOSITE_MATCHING_FLAG, matching);
  try {
    const { cases } = (await (await fetch(casesUrl)).json()) as { cases: MergeCase[] };
    const out = [];
    for (const c of cases) {
      const res = turboMerge(c.x, c.metric, c.attnCls, c.size, mergeOptionsOf(c));
      const x = (await res.x.array()) as number[][][];
      const size = (await res.size.array()) as number[][];
      tf.dispose([res.x, res.size, res.assignment]);
      out.push({ maxDiff: maxDiff(x, c.expectedX), sizesEqual: JSON.stringify(size) === JSON.stringify(c.expectedSize) });
    }
    return out;
  } finally {
    tf.env().set(COMPOSITE_MATCHING_FLAG, 'auto');
    registerFusedKernels();
  }
}

/** max |a − b| over nested arrays of the same layout; Infinity where the layouts differ. */
function maxDiff(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length ? a.reduce((m: number, v, i) => Math.max(m, maxDiff(v, b[i])), 0) : Infinity;
  return typeof a === 'number' && typeof b === 'number' ? Math.abs(a - b) : Infinity;
}

export interface FusedCaseResult {
  /** Whether the registry holds a kernel other than the composite for each Turbo op on this backend. */
  fused: boolean;
  /** Kernel names tf.profile saw during turboMerge: the fused kernel runs no other kernel. */
  kernels: string[];
  /** readSync/read calls on the backend during turboMerge, turboUnmerge and proportionalAttentionBias. */
  reads: number;
  maxDiff: number;
  sizesEqual: boolean;
  /** The assignment equals the cpu kernel's (run in this page). */
  assignmentEqual: boolean;
  /** turboUnmerge of the merged x against the expected x gathered by the cpu assignment. */
  unmergeDiff: number;
  /** proportionalAttentionBias against Math.log of the expected sizes, as [B, 1, 1, N']. */
  biasDiff: number;
}


/** The official merge cases on `backend` through its fused GPU kernels (all three Turbo ops), against the expected values and the cpu kernel. */
async function fusedCases(backend: string, casesUrl: string): Promise<FusedCaseResult[]> {
  const { cases } = (await (await fetch(casesUrl)).json()) as { cases: MergeCase[] };
  await setBackend('cpu');
  const cpuAssignments = cases.map((c) => {
    const res = turboMerge(c.x, c.metric, c.attnCls, c.size, mergeOptionsOf(c));
    const a = res.assignment.arraySync() as number[][];
    tf.dispose([res.x, res.size, res.assignment]);
    return a;
  });
  await setBackend(backend);
  const fused = ['TurboMerge', 'TurboUnmerge', 'TurboPropAttnBias'].every((k) => hasFusedKernel(k, backend));
  const out: FusedCaseResult[] = [];
  for (const [i, c] of cases.entries()) {
    const x0 = tf.tensor3d(c.x);
    const metric = tf.tensor3d(c.metric);
    const attn = tf.tensor2d(c.attnCls);
    const size0 = c.size ? tf.tensor2d(c.size) : null;
    const { value: res, reads } = countingReads(() => {
      const m = turboMerge(x0, metric, attn, size0, mergeOptionsOf(c));
      return { ...m, unmerged: turboUnmerge(m.x, m.assignment), bias: proportionalAttentionBias(m.size) };
    });
    const profile = await tf.profile(() => {
      const m = turboMerge(x0, metric, attn, size0, mergeOptionsOf(c));
      return [m.x, m.size, m.assignment];
    });
    const x = await res.x.array();
    const size = (await res.size.array()) as number[][];
    const assignment = (await res.assignment.array()) as number[][];
    const cpuA = cpuAssignments[i];
    const expectedUnmerged = cpuA.map((row, b) => row.map((o) => c.expectedX[b][o]));
    const expectedBias = c.expectedSize.map((row) => [[row.map(Math.log)]]);
    out.push({
      fused,
      kernels: profile.kernelNames,
      reads,
      maxDiff: maxDiff(x, c.expectedX),
      sizesEqual: JSON.stringify(size) === JSON.stringify(c.expectedSize),
      assignmentEqual: JSON.stringify(assignment) === JSON.stringify(cpuA),
      unmergeDiff: maxDiff(await res.unmerged.array(), expectedUnmerged),
      biasDiff: maxDiff(await res.bias.array(), expectedBias),
    });
    tf.dispose(profile.result as tf.Tensor[]);
    tf.dispose([x0, metric, attn, ...(size0 ? [size0] : []), res.x, res.size, res.assignment, res.unmerged, res.bias]);
  }
  return out;
}

/** Hand cases for the rules docs/ALGORITHM.md fixes beyond the official cases: ties, NaN and -inf scores, zero metric rows, p = 0 and 2. */
function edgeCases(): { name: string; shape: [number, number, number, number]; opts: TurboMergeOptions; edit?: (m: Float32Array, a: Float32Array, n: number, d: number) => void }[] {
  return [
    { name: 'all tokens alike (every cosine and E tied)', shape: [2, 21, 4, 3], opts: { r: 5, alpha: 0 }, edit: (m) => m.fill(0.5) },
    {
      name: 'NaN and +inf class attention (E = NaN, -inf rank last, by index)',
      shape: [2, 33, 8, 4],
      opts: { r: 12, alpha: 1 },
      edit: (_m, a, n) => [4, 8, 20].forEach((i, k) => ((a[i] = k === 1 ? Infinity : NaN), (a[n + i + 2] = NaN))),
    },
    { name: 'zero metric rows', shape: [1, 25, 4, 3], opts: { r: 6, alpha: 2 }, edit: (m, _a, _n, d) => [2, 3, 6, 7].forEach((i) => m.fill(0, i * d, (i + 1) * d)) },
    { name: 'no protected token', shape: [2, 24, 6, 4], opts: { r: 6, alpha: 0.5, protectedTokens: 0 } },
    { name: 'two protected tokens', shape: [1, 25, 6, 4], opts: { r: 7, alpha: 0.5, protectedTokens: 2 } },
  ];
}

/** The edge cases on `backend` against the cpu kernel in this page: the same assignment, x within max |diff|. */
async function fusedEdgeCases(backend: string): Promise<{ name: string; assignmentEqual: boolean; maxDiff: number; sizesEqual: boolean }[]> {
  const out = [];
  for (const { name, shape, opts, edit } of edgeCases()) {
    const [B, N, C, d] = shape;
    const rand = mulberry32(N * 7919 + C);
    const fill = (len: number) => Float32Array.from({ length: len }, () => rand() * 2 - 1);
    const x = fill(B * N * C);
    const m = fill(B * N * d);
    const a = Float32Array.from({ length: B * N }, () => rand() * 0.1);
    edit?.(m, a, N, d);
    const size = Float32Array.from({ length: B * N }, () => 1 + Math.floor(rand() * 3));
    const runOn = async (b: string) => {
      await setBackend(b);
      const r = turboMerge(tf.tensor3d(x, [B, N, C]), tf.tensor3d(m, [B, N, d]), tf.tensor2d(a, [B, N]), tf.tensor2d(size, [B, N]), opts);
      const res = { x: await r.x.array(), size: await r.size.array(), assignment: await r.assignment.array() };
      tf.dispose([r.x, r.size, r.assignment]);
      return res;
    };
    const cpu = await runOn('cpu');
    const gpu = await runOn(backend);
    out.push({
      name,
      assignmentEqual: JSON.stringify(gpu.assignment) === JSON.stringify(cpu.assignment),
      maxDiff: maxDiff(gpu.x, cpu.x),
      sizesEqual: JSON.stringify(gpu.size) === JSON.stringify(cpu.size),
    });
  }
  return out;
}

/**
 * Shader programs compiled by `backend` for merges at ViT-Tiny's token counts: after the first
 * (N = 197), later counts must compile nothing new. Counts the backend's program caches
 * (webgl: binaryCache, webgpu: pipelineCache).
 */
async function compiledPerTokenCount(backend: string): Promise<number[]> {
  await setBackend(backend);
  const cache = () => {
    const b = tf.backend() as unknown as { binaryCache?: object; pipelineCache?: object };
    return Object.keys(b.binaryCache ?? b.pipelineCache ?? {}).length;
  };
  const counts: number[] = [];
  for (const n of [197, 181, 165, 149, 133]) {
    // Inputs made and uploaded first: tfjs's own random/fill kernels bake shapes into their shaders.
    // tf.mul leaves them in GPU memory, so no upload program runs inside the count.
    const inputs = tf.tidy(() => [tf.randomNormal([1, n, 192]), tf.randomNormal([1, n, 64]), tf.randomUniform([1, n]), tf.ones([1, n])].map((t) => tf.mul(t, 1)));
    await Promise.all(inputs.map((t) => t.data()));
    const before = cache();
    const m = turboMerge(inputs[0], inputs[1], inputs[2] as tf.Tensor2D, inputs[3] as tf.Tensor2D, { r: 16, alpha: 5 });
    const out = [m.x, m.size, m.assignment, turboUnmerge(m.x, m.assignment), proportionalAttentionBias(m.size)];
    counts.push(cache() - before);
    await Promise.all(out.map((t) => t.data()));
    tf.dispose([...inputs, ...out]);
  }
  return counts;
}

/**
 * Mean on `backend` against the cpu backend's, over shapes and axes the webgpu replacement takes
 * (a few values per output: Turbo's mean over heads) and ones it hands to tfjs's kernel; and which
 * kernel runs Mean with the fused kernels on and off (webgpu: small_mean.ts, then tfjs's own back).
 */
async function smallMeans(backend: string): Promise<{ maxDiff: number; replacedWhileFused: boolean; restoredWithout: boolean; smallProgram: boolean }> {
  const cases: [number[], number[], boolean][] = [
    [[2, 3, 5, 7], [1], false],
    [[2, 3, 5], [1], false],
    [[1, 12, 9, 64], [1], true],
    [[2, 4, 3, 6], [1, 2], false],
    [[2, 3, 5, 7], [-3], false],
    [[2, 20, 5], [1], false],
    [[3, 4], [1], false],
  ];
  const rng = mulberry32(7);
  const data = cases.map(([shape]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng() * 4 - 2));
  await setBackend('cpu');
  const expected = cases.map(([shape, axes, keep], k) => tf.tidy(() => tf.mean(tf.tensor(data[k], shape), axes, keep).dataSync().slice()));
  await setBackend(backend);
  registerFusedKernels();
  const own = tf.getKernel('Mean', backend);
  let maxDiff = 0;
  for (const [k, [shape, axes, keep]] of cases.entries()) {
    const out = tf.tidy(() => tf.mean(tf.tensor(data[k], shape), axes, keep));
    const got = (await out.data()) as Float32Array;
    out.dispose();
    if (got.length !== expected[k].length) return { maxDiff: Infinity, replacedWhileFused: false, restoredWithout: false, smallProgram: false };
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - expected[k][i]));
  }
  const b = tf.backend() as unknown as { pipelineCache?: object };
  const smallProgram = Object.keys(b.pipelineCache ?? {}).some((key) => key.startsWith('turboSmallMean'));
  unregisterFusedKernels();
  const without = tf.getKernel('Mean', backend);
  registerFusedKernels();
  const again = tf.getKernel('Mean', backend);
  return { maxDiff, replacedWhileFused: own?.kernelFunc !== without?.kernelFunc && again?.kernelFunc !== without?.kernelFunc, restoredWithout: without !== undefined, smallProgram };
}

declare global {
  interface Window {
    turboPage: typeof api;
  }
}
// tfjsVersion: which tfjs-core the page bundled (the tests check it is the one Node runs).
const api = { run, mergeCases, fusedCases, fusedEdgeCases, compiledPerTokenCount, smallMeans, hasBackend: trySetBackend, tfjsVersion: tf.version_core };
window.turboPage = api;
