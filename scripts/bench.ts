#!/usr/bin/env node
// Throughput of the original and the Turbo graph on the same backend, in the same process,
// interleaved, after warm-up, as medians of repeated runs; r sweeps at several alphas; the same
// unmerged networks in onnxruntime-node as the peer; a per-kernel profile of where the time goes.
// Writes docs/bench/results.json and the generated 'bench' section of docs/BENCHMARKS.md.
//
//   npx tsc -p tsconfig.json && node dist/scripts/bench.js            # the full run (~36 min on 2 shared cores)
//   node dist/scripts/bench.js --models vit-tiny --batches 1 --rounds 3 --json /tmp/b.json --md /tmp/b.md   # a quick one
//   node dist/scripts/bench.js --from-json docs/bench/results.json   # re-render the doc section only
//
// Models: the embedded real ViT-Tiny (models/vit-tiny-patch16-224) and ViT-B/16-224 with random
// weights written by scripts/random_vit.ts (seed 0) and converted by converters/vit.ts at bench
// time (nothing large is committed). The onnxruntime peer is exported from the same safetensors
// by converters/python/export_onnx.py into .cache/onnx/ (git-ignored), keyed by a hash of the
// script and the checkpoint.
//
// How a measurement works: for one (model, backend, batch) the original graph and a group of Turbo
// graphs (as many as fit the memory budget) are loaded together; each is run once to warm up, then
// `--rounds` times round-robin (the starting graph rotates every round, so drift hits every graph
// alike); a row's speed-up is median(original ms) / median(Turbo ms) over the same rounds. Times are
// the process's CPU time (single-threaded engines; the machine this was written on is shared, and
// its wall clock mostly measured the other jobs); wall-clock medians are kept in the JSON too.

import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { Command } from 'commander';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { convertVitCheckpoint } from '../converters/vit';
import { EMBEDDED_MODEL_DIR, rewriteGraph } from '../src/convert';
import { runProgram } from '../src/cli/run';
import { TurboInputError } from '../src/errors';
import { Graph } from '../src/graph/ir';
import { graphToArtifacts, readGraphModel } from '../src/graph/model_io';
import { registerTurboOps } from '../src/ops/register';
import { BackendName, NODE_BACKENDS, tryLoadNativeBackend, useBackend } from '../src/runtime/backend';
import { DEFAULT_TURBO_OPTIONS } from '../src/turbo/options';
import { estimateFlopRatio } from '../src/turbo/schedule';
import { replaceSection } from './markdown';
import { VIT_B16_224, writeRandomVit } from './random_vit';
import { packageRoot } from '../src/paths';
import { median } from './stats';

const ROOT = packageRoot();
const PARITY_DIR = path.join(ROOT, 'spec', 'fixtures', 'parity');
const EXPORT_SCRIPT = path.join(ROOT, 'converters', 'python', 'export_onnx.py');
const FALLBACK_TINY_DIR = path.join(ROOT, 'models', 'vit-tiny-patch16-224-tfjs-converter');
const DEFAULT_JSON = path.join(ROOT, 'docs', 'bench', 'results.json');
const DEFAULT_MD = path.join(ROOT, 'docs', 'BENCHMARKS.md');
const IMAGE = [3, 224, 224];
const IMAGE_SIZE = 3 * 224 * 224;
/** The ONNX ViT-Tiny must reproduce the official r = 0 logits this closely to count as the same network. */
const PARITY_TOLERANCE = 1e-3;
/** Weight bytes of all graphs loaded at once for one group (original + Turbo variants). */
const MEMORY_BUDGET = 2.0e9;

// ---------------------------------------------------------------------------------------------
// Models

export interface ModelSpec {
  key: string;
  title: string;
  rSweep: number[];
  /** Fallback for FLOP estimates if the rewrite cannot read the widths off the weights. */
  dims: { hidden: number; mlp: number };
}

export const MODELS: Record<string, ModelSpec> = {
  'vit-tiny': { key: 'vit-tiny', title: 'ViT-Tiny/16-224 (real ImageNet weights, embedded model)', rSweep: [0, 4, 8, 13, 16], dims: { hidden: 192, mlp: 768 } },
  'vit-b': { key: 'vit-b', title: 'ViT-B/16-224 (random weights, seed 0, converted by converters/vit.ts)', rSweep: [0, 8, 13, 16, 20], dims: { hidden: 768, mlp: 3072 } },
};

interface LoadedModel {
  spec: ModelSpec;
  graph: Graph;
  /** Where the tfjs graph came from, for the doc. */
  source: string;
  weightBytes: number;
  onnx: string | null;
}

export interface PeerSetup {
  /** null: no peer, with `skipped` saying why. */
  python: string | null;
  versions: Record<string, string>;
  skipped: string | null;
}

export function cloneGraph(g: Graph): Graph {
  // Weights are shared: the rewrite only adds constants, it never writes into existing bytes.
  return new Graph(structuredClone(g.modelJson), [...g.weights.values()]);
}

function weightBytes(g: Graph): number {
  let n = 0;
  for (const w of g.weights.values()) n += w.bytes.byteLength;
  return n;
}

async function loadVitTiny(opts: Opts, peer: PeerSetup, log: (s: string) => void): Promise<LoadedModel> {
  const spec = MODELS['vit-tiny'];
  let dir = EMBEDDED_MODEL_DIR;
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    if (!fs.existsSync(path.join(FALLBACK_TINY_DIR, 'model.json'))) {
      throw new TurboInputError(path.join(EMBEDDED_MODEL_DIR, 'model.json'), 'not found (the embedded ViT-Tiny; regenerate it with node dist/scripts/convert-embedded-model.js)');
    }
    log(`note: ${path.relative(ROOT, EMBEDDED_MODEL_DIR)} missing, using ${path.relative(ROOT, FALLBACK_TINY_DIR)}`);
    dir = FALLBACK_TINY_DIR;
  }
  const graph = await readGraphModel(dir);
  let onnx: string | null = null;
  if (!peer.skipped) onnx = exportOnnx(peer, tinyCheckpoint(opts), opts.onnxCache, 'vit-tiny-patch16-224', log);
  return { spec, graph, source: path.relative(ROOT, dir), weightBytes: weightBytes(graph), onnx };
}

async function loadVitB(opts: Opts, peer: PeerSetup, log: (s: string) => void): Promise<LoadedModel> {
  const spec = MODELS['vit-b'];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-vitb-'));
  try {
    log('writing the random ViT-B/16-224 checkpoint (seed 0) and converting it');
    const { weights, config } = writeRandomVit(dir, VIT_B16_224, 0);
    const graph = await convertVitCheckpoint(weights, config);
    let onnx: string | null = null;
    if (!peer.skipped) onnx = exportOnnx(peer, dir, opts.onnxCache, 'vit-b16-224-random-seed0', log);
    return { spec, graph, source: 'scripts/random_vit.ts (VIT_B16_224, seed 0) -> converters/vit.ts convertVitCheckpoint', weightBytes: weightBytes(graph), onnx };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function tinyCheckpoint(opts: Opts): string {
  return path.join(opts.shared, 'models', 'vit-tiny-patch16-224');
}

// ---------------------------------------------------------------------------------------------
// The onnxruntime peer: export (Python, cached) and sessions

export function checkPython(python: string): PeerSetup {
  const res = spawnSync(python, [EXPORT_SCRIPT, '--versions'], { encoding: 'utf8' });
  if (res.error) {
    const why = (res.error as NodeJS.ErrnoException).code === 'ENOENT' ? `${python} not found` : res.error.message;
    return { python: null, versions: {}, skipped: `onnxruntime peer skipped: ${why} (the ONNX export needs Python 3 with onnx, safetensors, numpy)` };
  }
  if (res.status !== 0) {
    const line = lastLine(res.stderr) || `exit code ${res.status}`;
    return { python: null, versions: {}, skipped: `onnxruntime peer skipped: ${line}` };
  }
  try {
    return { python, versions: JSON.parse(res.stdout.trim()) as Record<string, string>, skipped: null };
  } catch {
    return { python: null, versions: {}, skipped: `onnxruntime peer skipped: ${EXPORT_SCRIPT} --versions printed no JSON` };
  }
}

function lastLine(s: string | null | undefined): string {
  return (s ?? '').trim().split('\n').pop()?.trim() ?? '';
}

/** Exports (or finds in the cache) the ONNX graph of a checkpoint dir; null after a one-line notice if it fails. */
export function exportOnnx(peer: PeerSetup, checkpointDir: string, cacheDir: string, name: string, log: (s: string) => void): string | null {
  const hash = crypto.createHash('sha256');
  hash.update(fs.readFileSync(EXPORT_SCRIPT));
  for (const f of ['config.json', 'model.safetensors']) hash.update(fs.readFileSync(path.join(checkpointDir, f)));
  hash.update(JSON.stringify(peer.versions));
  const out = path.join(cacheDir, `${name}-${hash.digest('hex').slice(0, 16)}.onnx`);
  if (fs.existsSync(out)) {
    log(`ONNX ${name}: cached ${path.relative(ROOT, out)}`);
    return out;
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const res = spawnSync(peer.python!, [EXPORT_SCRIPT, '--checkpoint', checkpointDir, '--out', out], { encoding: 'utf8' });
  if (res.status !== 0) {
    log(`onnxruntime peer skipped for ${name}: export failed (${lastLine(res.stderr) || res.error?.message || `exit ${res.status}`})`);
    return null;
  }
  log(`ONNX ${name}: ${lastLine(res.stdout)}`);
  return out;
}

export type Ort = typeof import('onnxruntime-node');

export async function loadOrt(): Promise<{ ort: Ort | null; version: string | null; why?: string }> {
  try {
    const ort = await import('onnxruntime-node');
    return { ort, version: ort.env.versions?.node ?? null };
  } catch (e) {
    return { ort: null, version: null, why: `onnxruntime-node not installed (${(e as Error).message.split('\n')[0]})` };
  }
}

// ---------------------------------------------------------------------------------------------
// Runners: one interface over tfjs graph models and onnxruntime sessions

export interface Runner {
  label: string;
  /** Runs the network on `batch` images and returns the logits (copied out). */
  run: (batch: number) => Promise<Float32Array>;
  dispose: () => Promise<void> | void;
}

interface Inputs {
  /** The 8 parity images, float32 NCHW, repeated as needed to fill a batch. */
  data: Float32Array;
  forBatch: (batch: number) => Float32Array;
}

export function readInputs(): Inputs {
  const file = path.join(PARITY_DIR, 'vit-tiny-inputs.f32');
  if (!fs.existsSync(file)) throw new TurboInputError(file, 'not found (the 8 preprocessed parity images the bench runs on)');
  const buf = fs.readFileSync(file);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  if (data.length !== 8 * IMAGE_SIZE) throw new TurboInputError(file, `expected 8 x 3 x 224 x 224 float32 values, found ${data.length}`);
  const cache = new Map<number, Float32Array>();
  return {
    data,
    forBatch: (batch) => {
      let x = cache.get(batch);
      if (!x) {
        x = new Float32Array(batch * IMAGE_SIZE);
        for (let i = 0; i < batch; i++) x.set(data.subarray((i % 8) * IMAGE_SIZE, (i % 8 + 1) * IMAGE_SIZE), i * IMAGE_SIZE);
        cache.set(batch, x);
      }
      return x;
    },
  };
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

export async function ortRunner(ort: Ort, label: string, file: string, threads: number, inputs: Inputs): Promise<Runner> {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Idle pool threads would otherwise spin after each run and take the core from the next tfjs run
    // (measured: ~12 ms of CPU in the 200 ms after a ViT-Tiny run).
    extra: { 'session.intra_op.allow_spinning': '0' },
  });
  const feeds = new Map<number, Record<string, import('onnxruntime-node').Tensor>>();
  return {
    label,
    run: async (batch) => {
      let feed = feeds.get(batch);
      if (!feed) {
        feed = { [session.inputNames[0]]: new ort.Tensor('float32', inputs.forBatch(batch), [batch, ...IMAGE]) };
        feeds.set(batch, feed);
      }
      const out = await session.run(feed);
      return Float32Array.from(out[session.outputNames[0]].data as Float32Array);
    },
    dispose: () => session.release(),
  };
}

interface Times {
  /** Wall-clock ms per run. */
  wall: number[];
  /** CPU ms of this process per run (user + system, all threads). */
  cpu: number[];
}

/** Runs once, returning wall and process CPU time in ms. */
export async function timed(r: Runner, batch: number): Promise<{ wall: number; cpu: number; out: Float32Array }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await r.run(batch);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000, out };
}

/**
 * Warm-up (one run each, outputs returned), then `rounds` rounds in which every runner runs once,
 * starting one later each round. Returns each runner's times.
 */
export async function interleave(runners: Runner[], batch: number, rounds: number, tick: (label: string) => void): Promise<{ warm: Float32Array[]; times: Times[] }> {
  const warm: Float32Array[] = [];
  for (const r of runners) {
    warm.push(await r.run(batch));
    tick(r.label);
  }
  const times = runners.map(() => ({ wall: [], cpu: [] }) as Times);
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < runners.length; j++) {
      const i = (round + j) % runners.length;
      const t = await timed(runners[i], batch);
      times[i].wall.push(t.wall);
      times[i].cpu.push(t.cpu);
      tick(runners[i].label);
    }
  }
  return { warm, times };
}


function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

// ---------------------------------------------------------------------------------------------
// Official references (spec/fixtures/parity/vit-tiny-turbo.json)

export interface ParityResult {
  config: { r: number | number[]; alpha: number; [k: string]: unknown };
  tokensAfterEachBlock: number[];
  logits: number[][];
}

export function readParity(): ParityResult[] {
  const file = path.join(PARITY_DIR, 'vit-tiny-turbo.json');
  if (!fs.existsSync(file)) throw new TurboInputError(file, 'not found (the official ViT-Tiny logits the bench checks against)');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { results: ParityResult[] }).results;
}

/** The official logits for a plain constant-r config (defaults otherwise), first `batch` images. */
export function officialLogits(parity: ParityResult[], r: number, alpha: number, batch: number): Float32Array | undefined {
  const hit = parity.find((p) => {
    const extra = Object.keys(p.config).filter((k) => k !== 'r' && k !== 'alpha');
    return extra.length === 0 && p.config.r === r && (r === 0 || p.config.alpha === alpha);
  });
  if (!hit) return undefined;
  const out = new Float32Array(batch * 1000);
  for (let i = 0; i < batch; i++) out.set(hit.logits[i % 8], i * 1000);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Results

interface Variant {
  r: number;
  /** null for r = 0: nothing is merged, so alpha has no effect and the row is measured once. */
  alpha: number | null;
}

interface Row {
  model: string;
  backend: string;
  batch: number;
  r: number;
  alpha: number | null;
  tokensAfterBlock: number[];
  flopRatio: number;
  /** Medians of the process CPU time per run (ms). */
  originalMs: number;
  turboMs: number;
  speedup: number;
  /** speed-up ÷ FLOP ratio. */
  keptOfFlopRatio: number;
  originalImagesPerSec: number;
  turboImagesPerSec: number;
  /** Wall-clock medians (the CPU-time medians above are the primary numbers). */
  originalWallMs: number;
  turboWallMs: number;
  speedupWall: number;
  samples: { original: Times; turbo: Times };
  /** Graphs timed together in this group (original + Turbo variants). */
  group: string[];
  execMode: string;
}

interface PeerRow {
  model: string;
  batch: number;
  turbo: { r: number; alpha: number; flopRatio: number };
  /** ort1, original, turbo: CPU-time medians; ortDefault: wall-clock median. */
  ms: { ort1: number; ortDefault: number; original: number; turbo: number };
  wallMs: { ort1: number; ortDefault: number; original: number; turbo: number };
  imagesPerSec: { ort1: number; ortDefault: number; original: number; turbo: number };
  /** Turbo-tfjs (wasm) images/s ÷ onnxruntime images/s. */
  turboOverOrt1: number;
  turboOverOrtDefault: number;
  originalOverOrt1: number;
  turboOverOrt1Wall: number;
  turboOverOrtDefaultWall: number;
  /** max |ORT logits − tfjs original logits| on this batch, and max |logit| for scale. */
  ortVsTfjsMaxAbsDiff: number;
  logitScale: number;
  samples: Record<string, Times>;
}

interface Check {
  what: string;
  maxAbsDiff: number;
  tolerance: number | null;
  ok: boolean | null;
}

interface ProfileCategory {
  category: string;
  originalMs: number;
  turboMs: number;
  originalKernels: number;
  turboKernels: number;
}

interface ProfileResult {
  model: string;
  backend: string;
  batch: number;
  r: number;
  alpha: number;
  flopRatio: number;
  runs: number;
  wallMs: { original: number; turbo: number };
  cpuMs: { original: number; turbo: number };
  /** Dense matmul GFLOP/s (2 x multiply-adds / CPU time) by tokens per image (rows = batch x tokens). */
  denseGflops: { tokens: number; gflops: number }[];
  /** Wall time of the profiled runs (profiling adds bookkeeping per kernel). */
  profiledWallMs: { original: number; turbo: number };
  kernelMs: { original: number; turbo: number };
  categories: ProfileCategory[];
}

interface Result {
  date: string;
  command: string;
  code: string;
  machine: { cpu: string; cores: number; memGiB: number; os: string; loadAvgStart: number[]; loadAvgEnd: number[] };
  versions: Record<string, string | null>;
  backends: Record<string, string>;
  models: Record<
    string,
    {
      title: string;
      source: string;
      weightMiB: number;
      onnx: string | null;
      nodes: { original: number; turbo: number; turboConfig: string; changedOps: Record<string, [number, number]> };
    }
  >;
  settings: { rounds: number; cpuRounds: number; warmup: number; alphas: number[]; batches: number[]; peerR: number; peerAlpha: number };
  peer: { ran: boolean; skipped: string | null; threads: string };
  checks: Check[];
  rows: Row[];
  peers: PeerRow[];
  profiles: ProfileResult[];
  experiments: ExperimentRow[];
  seconds: number;
}

// ---------------------------------------------------------------------------------------------
// Per-kernel profile

export const CAT = {
  dense: 'dense matmuls (qkv, proj, fc1, fc2, head)',
  attn: 'attention matmuls (QKᵀ, PV)',
  softmax: 'Softmax',
  attnElem: 'attention scale (Mul on [B, H, N, N])',
  erf: 'GELU Erf',
  layerNorm: 'LayerNorm statistics (Mean, Sub, SquaredDifference, Rsqrt)',
  elem: 'elementwise Add / Mul (bias, residual, LayerNorm affine, GELU)',
  transpose: 'Transpose',
  reshape: 'Reshape',
  shape: 'shape ops (StridedSlice, Concat on shape vectors)',
  embedding: 'embedding (Conv, Tile, Concat, head slice)',
  merge: 'Turbo: TurboMerge kernel',
  metric: 'Turbo: metric Mean over heads of k',
  clsSlice: 'Turbo: class-attention row StridedSlice',
  clsMean: 'Turbo: class-attention Mean over heads',
  propLog: 'Turbo: prop-attn log(size) kernel',
  propAdd: 'Turbo: prop-attn Add (logits + log size)',
};

/**
 * A readable category for one profiled kernel, from its name and shapes; null for the wrappers
 * tfjs also records around a kernel (`fusedMatMul__op` contains `_FusedMatMul`: counting both would
 * count it twice).
 */
export function kernelCategory(name: string, inShapes: (number[] | null)[], outShapes: (number[] | null)[]): string | null {
  if (name.endsWith('__op')) return null;
  const in0 = inShapes[0] ?? [];
  const in1 = inShapes[1] ?? [];
  const out0 = outShapes[0] ?? [];
  switch (name) {
    case 'BatchMatMul':
    case '_FusedMatMul':
    case 'MatMul':
      // Dense layers multiply by a 2-D weight [C, C']; attention multiplies [B, H, N, ·] activations.
      return in1.length >= 4 || (in1.length === 3 && in1[0] > 1) ? CAT.attn : CAT.dense;
    case 'Softmax':
      return CAT.softmax;
    case 'TurboMerge':
      return CAT.merge;
    case 'TurboPropAttnBias':
    case 'Log':
      return CAT.propLog;
    case 'Mean':
      if (in0.length === 4) return CAT.metric;
      if (out0.length === 2) return CAT.clsMean;
      return CAT.layerNorm;
    case 'Sub':
    case 'SquaredDifference':
    case 'Rsqrt':
      return CAT.layerNorm;
    case 'StridedSlice':
      if (in0.length === 4) return CAT.clsSlice;
      if (in0.length <= 1) return CAT.shape;
      return CAT.embedding;
    case 'Concat':
      return in0.length <= 1 ? CAT.shape : CAT.embedding;
    case 'Add':
      if (in0.length === 4 && in1.length === 4 && in1[1] === 1 && in1[2] === 1) return CAT.propAdd;
      return in0.length === 4 ? CAT.attnElem : CAT.elem;
    case 'Multiply':
    case 'RealDiv':
      return in0.length === 4 ? CAT.attnElem : CAT.elem;
    case 'Erf':
      return CAT.erf;
    case 'Transpose':
      return CAT.transpose;
    case 'Reshape':
      return CAT.reshape;
    case 'Conv2D':
    case 'FusedConv2D':
    case 'Tile':
      return CAT.embedding;
    default:
      return `other (${name})`;
  }
}

interface KernelProfile {
  wallMs: number;
  totalMs: number;
  byCat: Map<string, { ms: number; n: number }>;
  /** Dense matmuls by rows per image (tokens; 1 = the head): CPU ms and multiply-adds. */
  denseByTokens: Map<number, { ms: number; macs: number }>;
}

/**
 * One profiled run. Kernel times are CPU time (the backend's timer is swapped for process.cpuUsage
 * while profiling), so that other jobs on a shared machine do not inflate them.
 */
export async function profileOnce(runner: TfjsRunner, batch: number): Promise<KernelProfile> {
  const backend = tf.backend() as unknown as { time: (f: () => void) => Promise<{ kernelMs: number }> };
  const own = Object.prototype.hasOwnProperty.call(backend, 'time');
  const saved = backend.time;
  backend.time = async (f) => {
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    return { kernelMs: (c.user + c.system) / 1000 };
  };
  const t0 = performance.now();
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    info = await tf.profile(async () => {
      const out = await runner.forward(batch);
      await out.data();
      out.dispose();
    });
  } finally {
    if (own) backend.time = saved;
    else delete (backend as { time?: unknown }).time;
  }
  const wallMs = performance.now() - t0;
  const byCat = new Map<string, { ms: number; n: number }>();
  const denseByTokens = new Map<number, { ms: number; macs: number }>();
  let totalMs = 0;
  for (const k of info.kernels) {
    const ins = k.inputShapes as (number[] | null)[];
    const outs = k.outputShapes as (number[] | null)[];
    const cat = kernelCategory(k.name, ins, outs);
    if (cat === null) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    if (cat === CAT.dense && ins[0] && outs[0]) {
      // [rows, K] x [K, N] -> [rows, N] with rows = batch x tokens.
      const rows = ins[0].slice(0, -1).reduce((a, b) => a * b, 1);
      const macs = rows * ins[0][ins[0].length - 1] * outs[0][outs[0].length - 1];
      const tokens = Math.round(rows / batch);
      const d = denseByTokens.get(tokens) ?? { ms: 0, macs: 0 };
      d.ms += ms;
      d.macs += macs;
      denseByTokens.set(tokens, d);
    }
    const e = byCat.get(cat) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n++;
    byCat.set(cat, e);
    totalMs += ms;
  }
  return { wallMs, totalMs, byCat, denseByTokens };
}

// ---------------------------------------------------------------------------------------------
// Main

interface Opts {
  models: string;
  backends: string;
  batches: string;
  alphas: string;
  rSweep?: string;
  rounds: number;
  cpuRounds: number;
  peer: boolean;
  peerR: number;
  profile: string;
  profileRuns: number;
  experiments: string;
  shared: string;
  python: string;
  onnxCache: string;
  json: string;
  md: string;
  fromJson?: string;
}

function parseList(flag: string, s: string, check: (v: number) => boolean, what: string): number[] {
  const xs = s.split(',').map((t) => Number(t.trim()));
  const bad = xs.find((v) => !check(v));
  if (bad !== undefined || xs.length === 0) throw new Error(`${flag}: '${s}' must be a comma-separated list of ${what}`);
  return xs;
}

function requireFolder(file: string, create: boolean): void {
  const dir = path.dirname(path.resolve(file));
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new TurboInputError(dir, 'not a folder');
    return;
  }
  if (create && fs.existsSync(path.dirname(dir))) {
    fs.mkdirSync(dir);
    return;
  }
  throw new TurboInputError(dir, 'folder not found');
}

function chooseBackends(spec: string, log: (s: string) => void): { use: BackendName[]; status: Record<string, string> } {
  const native = tryLoadNativeBackend();
  const status: Record<string, string> = {
    wasm: 'tfjs-backend-wasm 4.22.0',
    cpu: 'tfjs-backend-cpu 4.22.0',
    tensorflow: native ? 'tfjs-node installed' : 'not installed (@tensorflow/tfjs-node / -gpu absent): not measured',
  };
  if (spec === 'auto') {
    if (!native) log('tfjs-node (backend tensorflow): not installed, skipped');
    return { use: native ? ['wasm', 'cpu', 'tensorflow'] : ['wasm', 'cpu'], status };
  }
  const use = spec.split(',').map((s) => s.trim()) as BackendName[];
  for (const b of use) {
    if (!NODE_BACKENDS.includes(b)) throw new Error(`--backends: unknown backend '${b}' (known: ${NODE_BACKENDS.join(', ')}, or auto)`);
    if (b === 'tensorflow' && !native) throw new Error("--backends: 'tensorflow' needs @tensorflow/tfjs-node (or -gpu), which is not installed");
  }
  return { use, status };
}

function variantsFor(sweep: number[], alphas: number[]): Variant[][] {
  // Groups by alpha; r = 0 (alpha-independent) joins the first group.
  const groups = alphas.map((alpha) => sweep.filter((r) => r > 0).map((r) => ({ r, alpha }) as Variant));
  if (sweep.includes(0)) groups[0].unshift({ r: 0, alpha: null });
  return groups.filter((g) => g.length);
}

function chunk<T>(xs: T[], max: number): T[][] {
  const parts = Math.ceil(xs.length / max);
  const size = Math.ceil(xs.length / parts);
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export function turboGraph(base: Graph, spec: ModelSpec, r: number, alpha: number) {
  const g = cloneGraph(base);
  const summary = rewriteGraph(g, { ...DEFAULT_TURBO_OPTIONS, r, alpha });
  const flopRatio = estimateFlopRatio(summary.plan.tokenCount, summary.plan.tokensAfterBlock, summary.plan.dims ?? spec.dims);
  return { graph: g, tokens: summary.plan.tokensAfterBlock, flopRatio };
}

/** Op counts that differ between two graphs: { op: [a, b] }. */
function opDiff(a: Graph, b: Graph): Record<string, [number, number]> {
  const hist = (g: Graph) => {
    const h = new Map<string, number>();
    for (const n of g.nodes) h.set(n.op, (h.get(n.op) ?? 0) + 1);
    return h;
  };
  const ha = hist(a);
  const hb = hist(b);
  const out: Record<string, [number, number]> = {};
  for (const op of new Set([...ha.keys(), ...hb.keys()])) if ((ha.get(op) ?? 0) !== (hb.get(op) ?? 0)) out[op] = [ha.get(op) ?? 0, hb.get(op) ?? 0];
  return out;
}

interface ExperimentRow {
  model: string;
  batch: number;
  name: string;
  nodes: number;
  cpuMs: number;
  wallMs: number;
  speedup: number;
  kept: number;
  flopRatio: number;
}

async function main(opts: Opts): Promise<void> {
  if (opts.fromJson) return renderOnly(opts);
  const started = Date.now();
  const loadAvgStart = os.loadavg();
  const code = gitState();
  const modelKeys = opts.models.split(',').map((s) => s.trim());
  for (const k of modelKeys) if (!MODELS[k]) throw new Error(`--models: unknown model '${k}' (known: ${Object.keys(MODELS).join(', ')})`);
  const batches = parseList('--batches', opts.batches, (v) => Number.isInteger(v) && v > 0, 'positive integers');
  const alphas = parseList('--alphas', opts.alphas, (v) => Number.isFinite(v) && v >= 0, 'numbers >= 0');
  const sweepOverride = opts.rSweep ? parseList('--r-sweep', opts.rSweep, (v) => Number.isInteger(v) && v >= 0, 'integers >= 0') : undefined;
  for (const [flag, v, min] of [['--rounds', opts.rounds, 1], ['--cpu-rounds', opts.cpuRounds, 1], ['--profile-runs', opts.profileRuns, 1], ['--peer-r', opts.peerR, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${flag}: '${v}' must be an integer >= ${min}`);
  }
  const profileSet = new Set(opts.profile === 'none' ? [] : opts.profile.split(',').map((s) => s.trim()));
  const experimentSet = new Set(opts.experiments === 'none' ? [] : opts.experiments.split(',').map((s) => s.trim()));
  for (const p of [...profileSet, ...experimentSet]) if (!/^[a-z-]+:\d+$/.test(p) || !MODELS[p.split(':')[0]]) throw new Error(`--profile: '${p}' is not MODEL:BATCH (e.g. vit-b:1) or none (--profile, --experiments)`);

  // Everything that can be missing is checked before the long part starts.
  requireFolder(opts.md, false);
  requireFolder(opts.json, path.resolve(opts.json) === DEFAULT_JSON);
  const inputs = readInputs();
  const parity = readParity();

  const bars = new MultiBar(
    { format: '{bar} {value}/{total} runs | {eta_formatted} left | {task}', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 30000, etaBuffer: 50 },
    Presets.shades_classic,
  );
  let bar: SingleBar | null = null;
  const log = (s: string) => {
    if (bar) bars.log(`${s}\n`);
    else process.stderr.write(`${s}\n`);
  };

  const { use: backends, status: backendStatus } = chooseBackends(opts.backends, log);

  let peer: PeerSetup = { python: null, versions: {}, skipped: 'onnxruntime peer skipped: --no-peer' };
  let ort: Ort | null = null;
  let ortVersion: string | null = null;
  if (opts.peer) {
    if (modelKeys.includes('vit-tiny') && !fs.existsSync(path.join(tinyCheckpoint(opts), 'model.safetensors'))) {
      throw new TurboInputError(tinyCheckpoint(opts), 'ViT-Tiny checkpoint not found (model.safetensors + config.json, for the ONNX peer); pass --shared DIR or --no-peer');
    }
    const o = await loadOrt();
    peer = o.ort ? checkPython(opts.python) : { python: null, versions: {}, skipped: `onnxruntime peer skipped: ${o.why}` };
    ort = o.ort;
    ortVersion = o.version;
  }
  if (peer.skipped) log(peer.skipped);

  registerTurboOps();
  if (backends.includes('wasm')) {
    await useBackend('wasm');
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const threads = (require('@tensorflow/tfjs-backend-wasm') as { getThreadsCount: () => number }).getThreadsCount();
    backendStatus.wasm = `${backendStatus.wasm}, SIMD ${simd ? 'on' : 'off'}, ${threads} thread${threads === 1 ? '' : 's'}${mt ? '' : ' (no multithread support in Node)'}`;
  }

  // Plan: what runs where, to size the progress bar.
  interface Job {
    key: string;
    backend: BackendName;
    batch: number;
    rounds: number;
  }
  const jobs: Job[] = [];
  for (const key of modelKeys) {
    for (const backend of backends) {
      if (backend === 'cpu' && key !== 'vit-tiny') continue; // cpu: ViT-Tiny only (slow)
      const bs = backend === 'cpu' ? [1] : batches;
      for (const batch of bs) jobs.push({ key, backend, batch, rounds: backend === 'cpu' ? opts.cpuRounds : opts.rounds });
    }
  }
  const sweepOf = (key: string) => sweepOverride ?? MODELS[key].rSweep;
  const peerAlpha = DEFAULT_TURBO_OPTIONS.alpha;
  let totalRuns = 0;
  for (const j of jobs) {
    const groups = variantsFor(sweepOf(j.key), alphas);
    const nVariants = groups.reduce((s, g) => s + g.length, 0);
    const nGroups = j.key === 'vit-b' ? groups.reduce((s, g) => s + Math.ceil(g.length / 4), 0) : groups.length;
    totalRuns += (j.rounds + 1) * (nVariants + nGroups);
    if (j.backend === 'wasm' && opts.peer && !peer.skipped) totalRuns += (j.rounds + 1) * 4;
    if (j.backend === 'wasm' && experimentSet.has(`${j.key}:${j.batch}`)) totalRuns += (j.rounds + 1) * 4;
  }
  bar = bars.create(totalRuns, 0, { task: 'loading models' });
  const tick = (task: string) => bar?.increment(1, { task });

  const rows: Row[] = [];
  const peers: PeerRow[] = [];
  const checks: Check[] = [];
  const profiles: ProfileResult[] = [];
  const experiments: ExperimentRow[] = [];
  const modelInfo: Result['models'] = {};
  const addCheck = (c: Check) => {
    checks.push(c);
    const verdict = c.ok === null ? '' : c.ok ? ' ok' : ` FAILED (tolerance ${c.tolerance})`;
    log(`check: ${c.what}: max |Δ| = ${c.maxAbsDiff.toExponential(2)}${verdict}`);
  };

  for (const key of modelKeys) {
    const spec = MODELS[key];
    const model = key === 'vit-tiny' ? await loadVitTiny(opts, peer, log) : await loadVitB(opts, peer, log);
    const ref = turboGraph(model.graph, spec, opts.peerR, peerAlpha).graph;
    modelInfo[key] = {
      title: spec.title,
      source: model.source,
      weightMiB: Math.round(model.weightBytes / 2 ** 20),
      onnx: model.onnx ? path.relative(ROOT, model.onnx) : null,
      nodes: { original: model.graph.nodes.length, turbo: ref.nodes.length, turboConfig: `r=${opts.peerR},alpha=${peerAlpha}`, changedOps: opDiff(model.graph, ref) },
    };

    // onnxruntime sessions for this model (1 intra-op thread, and onnxruntime's default).
    let ortRunners: Runner[] | null = null;
    if (ort && model.onnx) {
      ortRunners = [
        await ortRunner(ort, `${key} onnxruntime 1 thread`, model.onnx, 1, inputs),
        await ortRunner(ort, `${key} onnxruntime default threads`, model.onnx, 0, inputs),
      ];
      if (key === 'vit-tiny') {
        // Proof that the ONNX graph is the same network: the official r = 0 logits on the 8 images.
        const got = await ortRunners[0].run(8);
        const d = maxAbsDiff(got, officialLogits(parity, 0, 0, 8)!);
        addCheck({ what: 'onnxruntime ViT-Tiny vs official r = 0 logits (8 parity images)', maxAbsDiff: d, tolerance: PARITY_TOLERANCE, ok: d <= PARITY_TOLERANCE });
        if (d > PARITY_TOLERANCE) {
          log(`onnxruntime peer skipped for ${key}: the ONNX graph does not reproduce the official logits`);
          for (const r of ortRunners) await r.dispose();
          ortRunners = null;
        }
      }
    }

    for (const backend of backends) {
      const myJobs = jobs.filter((j) => j.key === key && j.backend === backend);
      if (!myJobs.length) continue;
      await useBackend(backend);
      const original = await tfjsRunner(`${key} ${backend} original`, model.graph, inputs);
      for (const job of myJobs) {
        const { batch, rounds } = job;
        const where = `${key} ${backend} b${batch}`;
        if (key === 'vit-tiny' && batch === 8 && !checks.some((c) => c.what.startsWith(`tfjs ${backend} ViT-Tiny original`))) {
          const d = maxAbsDiff(await original.run(8), officialLogits(parity, 0, 0, 8)!);
          addCheck({ what: `tfjs ${backend} ViT-Tiny original vs official r = 0 logits (8 parity images)`, maxAbsDiff: d, tolerance: PARITY_TOLERANCE, ok: d <= PARITY_TOLERANCE });
        }
        const cap = Math.max(1, Math.floor(MEMORY_BUDGET / model.weightBytes) - 1);
        for (const group of variantsFor(sweepOf(key), alphas).flatMap((g) => chunk(g, cap))) {
          const turbos: { v: Variant; runner: TfjsRunner; tokens: number[]; flopRatio: number }[] = [];
          for (const v of group) {
            const t = turboGraph(model.graph, spec, v.r, v.alpha ?? alphas[0]);
            const label = `${where} r=${v.r}${v.alpha === null ? '' : ` α=${v.alpha}`}`;
            turbos.push({ v, runner: await tfjsRunner(label, t.graph, inputs), tokens: t.tokens, flopRatio: t.flopRatio });
          }
          const { warm, times } = await interleave([original, ...turbos.map((t) => t.runner)], batch, rounds, tick);
          const origMs = median(times[0].cpu);
          const origWall = median(times[0].wall);
          turbos.forEach((t, i) => {
            // Turbo ViT-Tiny against the official Turbo logits where the parity file has this config.
            if (key === 'vit-tiny' && batch === 8 && t.v.r > 0) {
              const ref = officialLogits(parity, t.v.r, t.v.alpha!, 8);
              if (ref && !checks.some((c) => c.what.includes(`r = ${t.v.r}, alpha = ${t.v.alpha}`) && c.what.includes(backend))) {
                const d = maxAbsDiff(warm[i + 1], ref);
                addCheck({ what: `tfjs ${backend} Turbo ViT-Tiny r = ${t.v.r}, alpha = ${t.v.alpha} vs official Turbo logits`, maxAbsDiff: d, tolerance: PARITY_TOLERANCE, ok: d <= PARITY_TOLERANCE });
              }
            }
            const turboMs = median(times[i + 1].cpu);
            const turboWall = median(times[i + 1].wall);
            rows.push({
              model: key,
              backend,
              batch,
              r: t.v.r,
              alpha: t.v.alpha,
              tokensAfterBlock: t.tokens,
              flopRatio: t.flopRatio,
              originalMs: origMs,
              turboMs,
              speedup: origMs / turboMs,
              keptOfFlopRatio: origMs / turboMs / t.flopRatio,
              originalImagesPerSec: (1000 * batch) / origMs,
              turboImagesPerSec: (1000 * batch) / turboMs,
              originalWallMs: origWall,
              turboWallMs: turboWall,
              speedupWall: origWall / turboWall,
              samples: { original: rounded(times[0]), turbo: rounded(times[i + 1]) },
              group: ['original', ...turbos.map((u) => `r=${u.v.r}${u.v.alpha === null ? '' : `,alpha=${u.v.alpha}`}`)],
              execMode: t.runner.mode,
            });
          });
          for (const t of turbos) t.runner.dispose();
        }

        // The peer and the profile use the reference Turbo config (r = --peer-r, default alpha).
        const wantPeer = backend === 'wasm' && ortRunners !== null;
        const wantProfile = backend === 'wasm' && profileSet.has(`${key}:${batch}`);
        if (backend === 'wasm' && experimentSet.has(`${key}:${batch}`)) {
          experiments.push(...(await runExperiments(key, spec, model.graph, batch, rounds, original, opts.peerR, peerAlpha, inputs, tick)));
        }
        if (wantPeer || wantProfile) {
          const t = turboGraph(model.graph, spec, opts.peerR, peerAlpha);
          const turbo = await tfjsRunner(`${where} Turbo r=${opts.peerR} α=${peerAlpha}`, t.graph, inputs);
          if (wantPeer) peers.push(await runPeer(key, batch, rounds, ortRunners!, original, turbo, { r: opts.peerR, alpha: peerAlpha, flopRatio: t.flopRatio }, tick));
          if (wantProfile) {
            bar?.update({ task: `${where} profiling` });
            profiles.push(await profile(key, backend, batch, original, turbo, { r: opts.peerR, alpha: peerAlpha, flopRatio: t.flopRatio }, opts.profileRuns));
          }
          turbo.dispose();
        }
      }
      original.dispose();
    }
    if (ortRunners) for (const r of ortRunners) await r.dispose();
  }
  bars.stop();
  bar = null;

  const cpus = os.cpus();
  const result: Result = {
    date: new Date().toISOString(),
    command: ['node dist/scripts/bench.js', ...process.argv.slice(2)].join(' '),
    code,
    machine: {
      cpu: cpus[0]?.model ?? 'unknown CPU',
      cores: cpus.length,
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      os: `${os.platform()} ${os.release()}`,
      loadAvgStart: loadAvgStart.map(round2),
      loadAvgEnd: os.loadavg().map(round2),
    },
    versions: { tfjs: tf.version_core, node: process.version, onnxruntimeNode: ortVersion, ...peer.versions },
    backends: Object.fromEntries(Object.entries(backendStatus).filter(([b]) => backends.includes(b as BackendName) || b === 'tensorflow')),
    models: modelInfo,
    settings: { rounds: opts.rounds, cpuRounds: opts.cpuRounds, warmup: 1, alphas, batches, peerR: opts.peerR, peerAlpha },
    peer: {
      ran: peers.length > 0,
      skipped: peer.skipped,
      threads: `intra-op 1, and intra-op 0 = onnxruntime's default (one per physical core; this machine reports ${cpus.length} logical CPUs); sequential execution, graph optimisation level all, thread-pool spinning off`,
    },
    checks,
    rows,
    peers,
    profiles,
    experiments,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  fs.writeFileSync(opts.json, JSON.stringify(result, null, 1) + '\n');
  const md = renderMarkdown(result);
  replaceSection(opts.md, 'bench', md);
  process.stdout.write(md + '\n');
  process.stderr.write(`wrote ${path.relative(process.cwd(), opts.json)} and the 'bench' section of ${path.relative(process.cwd(), opts.md)} (${result.seconds} s)\n`);
}

/** --from-json: re-renders the markdown section from a results file, measuring nothing. */
async function renderOnly(opts: Opts): Promise<void> {
  let result: Result;
  try {
    result = JSON.parse(fs.readFileSync(opts.fromJson!, 'utf8')) as Result;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TurboInputError(opts.fromJson!, code === 'ENOENT' ? 'not found' : `not a results file (${(e as Error).message})`);
  }
  if (!Array.isArray(result.rows) || !result.machine) throw new TurboInputError(opts.fromJson!, 'not a results file written by scripts/bench.ts');
  requireFolder(opts.md, false);
  replaceSection(opts.md, 'bench', renderMarkdown(result));
  process.stderr.write(`rendered ${path.relative(process.cwd(), opts.fromJson!)} into the 'bench' section of ${path.relative(process.cwd(), opts.md)}\n`);
}

async function runExperiments(
  key: string,
  spec: ModelSpec,
  base: Graph,
  batch: number,
  rounds: number,
  original: TfjsRunner,
  r: number,
  alpha: number,
  inputs: Inputs,
  tick: (label: string) => void,
): Promise<ExperimentRow[]> {
  const asIs = turboGraph(base, spec, r, alpha);
  const noProp = cloneGraph(base);
  rewriteGraph(noProp, { ...DEFAULT_TURBO_OPTIONS, r, alpha, propAttn: false });
  const variants: [string, Graph][] = [
    [`Turbo r=${r} α=${alpha} as rewritten`, asIs.graph],
    [`same rewrite with propAttn off (no log(size) bias)`, noProp],
  ];
  const runners: TfjsRunner[] = [];
  for (const [name, g] of variants) runners.push(await tfjsRunner(`${key} wasm b${batch} experiment: ${name}`, g, inputs));
  const { times } = await interleave([original, ...runners], batch, rounds, tick);
  const o = median(times[0].cpu);
  const rows: ExperimentRow[] = [
    { model: key, batch, name: 'original', nodes: base.nodes.length, cpuMs: o, wallMs: median(times[0].wall), speedup: 1, kept: 1 / asIs.flopRatio, flopRatio: asIs.flopRatio },
  ];
  variants.forEach(([name, g], i) => {
    const t = median(times[i + 1].cpu);
    rows.push({ model: key, batch, name, nodes: g.nodes.length, cpuMs: t, wallMs: median(times[i + 1].wall), speedup: o / t, kept: o / t / asIs.flopRatio, flopRatio: asIs.flopRatio });
  });
  for (const rr of runners) rr.dispose();
  return rows;
}

async function runPeer(
  key: string,
  batch: number,
  rounds: number,
  ortRunners: Runner[],
  original: TfjsRunner,
  turbo: TfjsRunner,
  cfg: { r: number; alpha: number; flopRatio: number },
  tick: (label: string) => void,
): Promise<PeerRow> {
  const runners = [ortRunners[0], ortRunners[1], original, turbo];
  const { warm, times } = await interleave(runners, batch, rounds, tick);
  // Single-threaded engines by CPU time; onnxruntime with its default thread pool by wall clock
  // (its CPU time adds up all threads).
  const ms = { ort1: median(times[0].cpu), ortDefault: median(times[1].wall), original: median(times[2].cpu), turbo: median(times[3].cpu) };
  const wallMs = { ort1: median(times[0].wall), ortDefault: median(times[1].wall), original: median(times[2].wall), turbo: median(times[3].wall) };
  const ips = (m: number) => (1000 * batch) / m;
  return {
    model: key,
    batch,
    turbo: cfg,
    ms,
    wallMs,
    imagesPerSec: { ort1: ips(ms.ort1), ortDefault: ips(ms.ortDefault), original: ips(ms.original), turbo: ips(ms.turbo) },
    turboOverOrt1: ms.ort1 / ms.turbo,
    turboOverOrtDefault: ms.ortDefault / ms.turbo,
    originalOverOrt1: ms.ort1 / ms.original,
    turboOverOrt1Wall: wallMs.ort1 / wallMs.turbo,
    turboOverOrtDefaultWall: wallMs.ortDefault / wallMs.turbo,
    ortVsTfjsMaxAbsDiff: maxAbsDiff(warm[0], warm[2]),
    logitScale: maxAbs(warm[2]),
    samples: { ort1: rounded(times[0]), ortDefault: rounded(times[1]), original: rounded(times[2]), turbo: rounded(times[3]) },
  };
}

const rounded = (t: Times): Times => ({ wall: t.wall.map(round1), cpu: t.cpu.map(round1) });

async function profile(
  key: string,
  backend: string,
  batch: number,
  original: TfjsRunner,
  turbo: TfjsRunner,
  cfg: { r: number; alpha: number; flopRatio: number },
  runs: number,
): Promise<ProfileResult> {
  // Both graphs are warm. Unprofiled wall times and profiled runs, interleaved; per-category medians.
  const wall = { original: [] as number[], turbo: [] as number[] };
  const cpu = { original: [] as number[], turbo: [] as number[] };
  const prof = { original: [] as KernelProfile[], turbo: [] as KernelProfile[] };
  for (let i = 0; i < runs; i++) {
    for (const [name, r] of [['original', original], ['turbo', turbo]] as const) {
      const t = await timed(r, batch);
      wall[name].push(t.wall);
      cpu[name].push(t.cpu);
      prof[name].push(await profileOnce(r, batch));
    }
  }
  const med = (ps: KernelProfile[], c: string) => median(ps.map((p) => p.byCat.get(c)?.ms ?? 0));
  const count = (ps: KernelProfile[], c: string) => ps[0].byCat.get(c)?.n ?? 0;
  const cats = new Set([...prof.original[0].byCat.keys(), ...prof.turbo[0].byCat.keys()]);
  const excess = (c: ProfileCategory) => c.turboMs - c.originalMs / cfg.flopRatio;
  const categories = [...cats]
    .map((c) => ({
      category: c,
      originalMs: round2(med(prof.original, c)),
      turboMs: round2(med(prof.turbo, c)),
      originalKernels: count(prof.original, c),
      turboKernels: count(prof.turbo, c),
    }))
    .sort((a, b) => excess(b) - excess(a));
  // Dense matmul throughput by tokens: the original (197 tokens) and every token count of the Turbo graph.
  const dense = new Map<number, { ms: number; macs: number }>();
  for (const p of [...prof.original, ...prof.turbo]) {
    for (const [t, d] of p.denseByTokens) {
      const e = dense.get(t) ?? { ms: 0, macs: 0 };
      e.ms += d.ms;
      e.macs += d.macs;
      dense.set(t, e);
    }
  }
  const denseGflops = [...dense]
    .filter(([t]) => t > 1)
    .sort((a, b) => b[0] - a[0])
    .map(([tokens, d]) => ({ tokens, gflops: round2((2 * d.macs) / (d.ms * 1e6)) }));
  return {
    model: key,
    backend,
    batch,
    ...cfg,
    runs,
    denseGflops,
    wallMs: { original: round1(median(wall.original)), turbo: round1(median(wall.turbo)) },
    cpuMs: { original: round1(median(cpu.original)), turbo: round1(median(cpu.turbo)) },
    profiledWallMs: { original: round1(median(prof.original.map((p) => p.wallMs))), turbo: round1(median(prof.turbo.map((p) => p.wallMs))) },
    kernelMs: { original: round1(median(prof.original.map((p) => p.totalMs))), turbo: round1(median(prof.turbo.map((p) => p.totalMs))) },
    categories,
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

// ---------------------------------------------------------------------------------------------
// Markdown


/** The code that was measured: commit, and whether src/ or converters/ had uncommitted changes. */
export function gitState(): string {
  const git = (args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return 'not a git checkout';
  const dirty = git(['status', '--porcelain', '--', 'src', 'converters', 'scripts'])
    .stdout.split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3));
  return `commit ${head.stdout.trim()}${dirty.length ? `, with uncommitted changes in ${dirty.join(', ')}` : ', src/ converters/ scripts/ clean'} (at the start of the run; dist/ built from this tree)`;
}

/**
 * Noise estimate: at the same r, alpha 0 and alpha 5 graphs do the same work (alpha only changes
 * which tokens merge), so the spread of their Turbo times is measurement noise.
 */
function alphaSpread(rows: Row[]): { n: number; median: number; max: number } | null {
  const diffs: number[] = [];
  for (const a of rows) {
    if (a.r === 0 || a.alpha === null) continue;
    for (const b of rows) {
      if (b === a || b.alpha === null || b.alpha <= a.alpha || b.r !== a.r || b.model !== a.model || b.backend !== a.backend || b.batch !== a.batch) continue;
      diffs.push(Math.abs(a.turboMs - b.turboMs) / Math.min(a.turboMs, b.turboMs));
    }
  }
  return diffs.length ? { n: diffs.length, median: median(diffs), max: Math.max(...diffs) } : null;
}

function renderMarkdown(r: Result): string {
  const m = r.machine;
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const L: string[] = [];
  const wallOverCpu = r.rows.length ? median(r.rows.map((x) => x.originalWallMs / x.originalMs)).toFixed(2) : '—';
  L.push(
    `## Throughput (generated)`,
    '',
    `Generated on ${r.date.slice(0, 16).replace('T', ' ')} UTC (${Math.round(r.seconds / 60)} min) by`,
    '',
    '```',
    `npx tsc -p tsconfig.json && ${r.command}`,
    '```',
    '',
    `- Machine: ${m.cpu}, ${m.cores} logical CPUs, ${m.memGiB} GiB, ${m.os}; **shared with other jobs** (load average ${m.loadAvgStart.join(' / ')} at the start, ${m.loadAvgEnd.join(' / ')} at the end).`,
    `- Code: ${r.code}.`,
    `- Versions: tfjs ${r.versions.tfjs}, Node ${r.versions.node}, onnxruntime-node ${r.versions.onnxruntimeNode ?? '—'}${r.versions.onnx ? `; ONNX export (converters/python/export_onnx.py): Python ${r.versions.python}, onnx ${r.versions.onnx}, numpy ${r.versions.numpy}, safetensors ${r.versions.safetensors}` : ''}.`,
    `- Backends: ${Object.entries(r.backends)
      .map(([b, s]) => `**${b}**: ${s}`)
      .join('; ')}.`,
    ...Object.entries(r.models).map(
      ([k, v]) =>
        `- \`${k}\`: ${v.title}; tfjs graph from ${v.source} (${v.weightMiB} MiB of weights, ${v.nodes.original} nodes; the Turbo graph at ${v.nodes.turboConfig} has ${v.nodes.turbo}: ${Object.entries(v.nodes.changedOps)
          .map(([op, [a, b]]) => `${op} ${a} → ${b}`)
          .join(', ')})${v.onnx ? `; ONNX \`${v.onnx}\`` : ''}.`,
    ),
    `- Method: inputs are the 8 preprocessed parity images (spec/fixtures/parity/vit-tiny-inputs.f32; batch 1 = the first). For each (model, backend, batch) the original graph and as many Turbo graphs as fit a ${MEMORY_BUDGET / 1e9} GB weight budget (ViT-B: up to 4, ViT-Tiny: all) are loaded together, run once each to warm up, then ${r.settings.rounds} rounds round-robin (${r.settings.cpuRounds} on cpu), the first graph rotating every round. \`execute()\` (synchronous), logits read back every run. r = 0 merges nothing, so alpha has no effect there: it is measured once.`,
    `- Clock: **ms = median CPU time of the process per run** (user + system; tfjs wasm and cpu and onnxruntime with 1 thread are single-threaded, so this is the time on one core that is not shared), images/s = batch ÷ that. On this shared machine the wall clock mostly measures the other jobs (in this run a tfjs graph took ${wallOverCpu} × its CPU time of wall time, median over rows); wall medians are in results.json and in the "wall speed-up" column. onnxruntime with its default thread pool is timed by the wall clock (its CPU time adds up all threads).`,
    `- FLOP ratio = estimated multiply-adds of the unmerged blocks ÷ those with the schedule (\`estimateFlopRatio\`, src/turbo/schedule.ts; embedding and head left out); **kept** = speed-up ÷ FLOP ratio (100 % = the whole speed-up the schedule allows). **All ratios come from this one interleaved run.**`,
    '',
  );

  if (r.checks.length || r.peers.length) {
    L.push('Checks (same networks, same numbers):', '');
    for (const c of r.checks) L.push(`- ${c.what}: max |Δ| = ${c.maxAbsDiff.toExponential(1)}${c.ok === null ? '' : c.ok ? ` (≤ ${c.tolerance}: ok)` : ` (> ${c.tolerance}: **FAILED**)`}`);
    for (const p of r.peers) {
      L.push(`- onnxruntime vs tfjs-wasm original, ${p.model}, batch ${p.batch}: max |Δ logits| = ${p.ortVsTfjsMaxAbsDiff.toExponential(1)} (largest |logit| ${p.logitScale.toFixed(2)})`);
    }
    L.push('');
  }

  const schedules = new Map<number, number[]>();
  for (const row of r.rows) if (!schedules.has(row.r)) schedules.set(row.r, row.tokensAfterBlock);
  if (schedules.size) {
    L.push('Tokens after each block (197 tokens in, class token protected; the same for both models):', '', '| r | tokens after blocks 1–12 |', '| ---: | --- |');
    for (const [rr, t] of [...schedules].sort((a, b) => a[0] - b[0])) L.push(`| ${rr} | ${t.join(', ')} |`);
    L.push('');
  }

  const order = (x: Row) => [Object.keys(r.models).indexOf(x.model), ['wasm', 'tensorflow', 'cpu'].indexOf(x.backend), x.batch, x.alpha ?? -1, x.r];
  const rows = [...r.rows].sort((a, b) => {
    const oa = order(a);
    const ob = order(b);
    for (let i = 0; i < oa.length; i++) if (oa[i] !== ob[i]) return oa[i] - ob[i];
    return 0;
  });
  L.push(
    '| model | backend | batch | r | alpha | tokens after last block | FLOP ratio | original ms | Turbo ms | original im/s | Turbo im/s | speed-up | kept | wall speed-up |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const x of rows) {
    L.push(
      `| ${x.model} | ${x.backend} | ${x.batch} | ${x.r} | ${x.alpha ?? '–'} | ${x.tokensAfterBlock[x.tokensAfterBlock.length - 1]} | ${x.flopRatio.toFixed(2)} | ${x.originalMs.toFixed(1)} | ${x.turboMs.toFixed(1)} | ${x.originalImagesPerSec.toFixed(2)} | ${x.turboImagesPerSec.toFixed(2)} | **${x.speedup.toFixed(2)}×** | ${pct(x.keptOfFlopRatio)} | ${x.speedupWall.toFixed(2)}× |`,
    );
  }
  const spread = alphaSpread(rows);
  if (spread) {
    L.push(
      '',
      `Noise: alpha changes which tokens merge, not how much work is done, so at equal r the alpha 0 and alpha 5 Turbo graphs cost the same; their measured times differ by ${(100 * spread.median).toFixed(1)} % (median) and ${(100 * spread.max).toFixed(1)} % (max) over ${spread.n} pairs. Read differences below that as noise.`,
    );
  }
  L.push('');

  const target = rows.filter((x) => x.model === 'vit-b' && x.backend === 'wasm' && x.r === 16);
  if (target.length) {
    L.push('Target (ViT-B/16-224, r = 16, wasm): speed-up ≥ 2.0× and ≥ 95 % of the FLOP ratio.', '');
    for (const x of target) {
      const a = x.speedup >= 2.0;
      const b = x.keptOfFlopRatio >= 0.95;
      L.push(
        `- batch ${x.batch}, alpha ${x.alpha}: ${x.speedup.toFixed(2)}× (wall ${x.speedupWall.toFixed(2)}×), FLOP ratio ${x.flopRatio.toFixed(2)}, kept ${pct(x.keptOfFlopRatio)}: ≥ 2.0× **${a ? 'met' : 'missed'}**, ≥ 95 % **${b ? 'met' : 'missed'}**`,
      );
    }
    L.push('');
  }

  if (r.peers.length) {
    L.push(
      `Peer: the same unmerged networks in onnxruntime-node (CPU execution provider; ${r.peer.threads}), same inputs, interleaved with the tfjs-wasm original and Turbo graphs in the same process (${r.settings.rounds} rounds, medians). Turbo = r ${r.settings.peerR}, alpha ${r.settings.peerAlpha}. Ratios > 1 mean Turbo-tfjs is faster.`,
      '',
      '| model | batch | ORT 1 thread im/s | ORT default threads im/s (wall) | tfjs-wasm original im/s | Turbo-tfjs (wasm) im/s | **Turbo-tfjs ÷ ORT 1 thread** | Turbo-tfjs ÷ ORT default threads | original tfjs ÷ ORT 1 thread | Turbo ÷ ORT 1 thread, wall clock |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const p of r.peers) {
      L.push(
        `| ${p.model} | ${p.batch} | ${p.imagesPerSec.ort1.toFixed(2)} | ${p.imagesPerSec.ortDefault.toFixed(2)} | ${p.imagesPerSec.original.toFixed(2)} | ${p.imagesPerSec.turbo.toFixed(2)} | **${p.turboOverOrt1.toFixed(2)}** | ${p.turboOverOrtDefault.toFixed(2)} | ${p.originalOverOrt1.toFixed(2)} | ${p.turboOverOrt1Wall.toFixed(2)} |`,
      );
    }
    L.push('');
  } else {
    L.push(`Peer: ${r.peer.skipped ?? 'not run'}.`, '');
  }

  if (r.experiments.length) {
    L.push(
      'Experiments (bench-only variants of the Turbo graph, same interleaved method; not what convert-with-turbo writes): what fixing a found overhead would buy.',
      '',
      '| model | batch | graph | nodes | ms | speed-up | kept |',
      '| --- | ---: | --- | ---: | ---: | ---: | ---: |',
    );
    for (const e of r.experiments) {
      L.push(`| ${e.model} | ${e.batch} | ${e.name} | ${e.nodes} | ${e.cpuMs.toFixed(1)} | ${e.speedup.toFixed(2)}× | ${e.name === 'original' ? '—' : pct(e.kept)} |`);
    }
    L.push('');
  }

  for (const p of r.profiles) {
    const missing = p.cpuMs.turbo - p.cpuMs.original / p.flopRatio;
    L.push(
      `Profile: ${p.model}, ${p.backend}, batch ${p.batch}, Turbo r = ${p.r}, alpha ${p.alpha} (FLOP ratio ${p.flopRatio.toFixed(2)}). Unprofiled (CPU time, median of ${p.runs}): original ${p.cpuMs.original.toFixed(1)} ms, Turbo ${p.cpuMs.turbo.toFixed(1)} ms = ${(p.cpuMs.original / p.cpuMs.turbo).toFixed(2)}×; at the FLOP ratio Turbo would take ${(p.cpuMs.original / p.flopRatio).toFixed(1)} ms, ${missing >= 0 ? `so ${missing.toFixed(1)} ms are missing` : `so it is ${(-missing).toFixed(1)} ms faster than that`}. Kernel times: ${p.runs} interleaved \`tf.profile\` runs per graph, median per category (CPU time inside each kernel; the \`fusedMatMul__op\` wrappers tfjs also records are left out). **excess** = Turbo ms − original ms ÷ FLOP ratio: what each kind of work costs beyond perfect scaling (negative: it shrank by more than the FLOPs did).`,
      '',
      '| kernels | original ms (n) | Turbo ms (n) | Turbo ÷ original | excess ms |',
      '| --- | ---: | ---: | ---: | ---: |',
    );
    for (const c of p.categories) {
      const ratio = c.originalMs > 0 ? (c.turboMs / c.originalMs).toFixed(2) : '—';
      L.push(`| ${c.category} | ${c.originalMs.toFixed(1)} (${c.originalKernels}) | ${c.turboMs.toFixed(1)} (${c.turboKernels}) | ${ratio} | ${(c.turboMs - c.originalMs / p.flopRatio).toFixed(1)} |`);
    }
    // Unprofiled CPU time minus the kernels' CPU time: what the graph executor and JS glue cost.
    const oOver = p.cpuMs.original - p.kernelMs.original;
    const tOver = p.cpuMs.turbo - p.kernelMs.turbo;
    L.push(
      `| all kernels | ${p.kernelMs.original.toFixed(1)} | ${p.kernelMs.turbo.toFixed(1)} | ${(p.kernelMs.turbo / p.kernelMs.original).toFixed(2)} | ${(p.kernelMs.turbo - p.kernelMs.original / p.flopRatio).toFixed(1)} |`,
      `| outside kernels (unprofiled CPU ms − kernel CPU ms: graph executor, op glue, read-back) | ${oOver.toFixed(1)} | ${tOver.toFixed(1)} | ${(tOver / oOver).toFixed(2)} | ${(tOver - oOver / p.flopRatio).toFixed(1)} |`,
      '',
      `Dense matmul throughput (GFLOP/s, CPU time) by tokens per image in the block (batch ${p.batch}: rows = ${p.batch} × tokens); 197 = every block of the original:`,
      '',
      `| tokens | ${p.denseGflops.map((d) => d.tokens).join(' | ')} |`,
      `| ---: | ${p.denseGflops.map(() => '---:').join(' | ')} |`,
      `| GFLOP/s | ${p.denseGflops.map((d) => d.gflops.toFixed(1)).join(' | ')} |`,
      '',
    );
  }
  return L.join('\n');
}

// ---------------------------------------------------------------------------------------------
// CLI

export const program = new Command('bench')
  .description('Throughput of original vs Turbo tfjs graphs (and the onnxruntime-node peer); writes JSON and docs/BENCHMARKS.md')
  .option('--models <list>', 'vit-tiny,vit-b', 'vit-tiny,vit-b')
  .option('--backends <list>', "wasm,cpu,tensorflow, or auto = wasm, cpu, and tensorflow if tfjs-node is installed (cpu: ViT-Tiny, batch 1 only)", 'auto')
  .option('--batches <list>', 'batch sizes (up to 8 distinct images; larger batches repeat them)', '1,8')
  .option('--alphas <list>', 'alpha values for the r sweep', `0,${DEFAULT_TURBO_OPTIONS.alpha}`)
  .option('--r-sweep <list>', 'override the per-model r sweep (ViT-B 0,8,13,16,20; ViT-Tiny 0,4,8,13,16)')
  .option('--rounds <n>', 'timed rounds per graph after one warm-up run', (s) => Number(s), 5)
  .option('--cpu-rounds <n>', 'timed rounds on the cpu backend', (s) => Number(s), 3)
  .option('--no-peer', 'skip the onnxruntime-node peer')
  .option('--peer-r <n>', 'r of the Turbo graph compared with onnxruntime and profiled', (s) => Number(s), 16)
  .option('--profile <list>', 'MODEL:BATCH pairs to profile per kernel on wasm, or none', 'vit-b:1,vit-b:8,vit-tiny:1')
  .option('--profile-runs <n>', 'profiled runs per graph (per-kernel-category medians)', (s) => Number(s), 3)
  .option('--experiments <list>', 'MODEL:BATCH pairs on wasm where variants of the Turbo graph are timed (no prop-attn), or none', 'vit-b:1,vit-tiny:1')
  .option('--shared <dir>', 'the shared/ directory (ViT-Tiny safetensors for the ONNX export)', path.resolve(ROOT, '..', 'shared'))
  .option('--python <cmd>', 'Python 3 with onnx, safetensors, numpy', process.env.PYTHON ?? 'python3')
  .option('--onnx-cache <dir>', 'where exported .onnx files are kept (git-ignored)', path.join(ROOT, '.cache', 'onnx'))
  .option('--json <file>', 'results file', DEFAULT_JSON)
  .option('--md <file>', 'markdown file with the generated section', DEFAULT_MD)
  .option('--from-json <file>', 'measure nothing: re-render the markdown section from a results file')
  .action(main);

if (require.main === module) runProgram(program, process.argv.slice(2)).then((c) => (process.exitCode = c));
