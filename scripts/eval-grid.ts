#!/usr/bin/env node
// Top-1/top-5 of a Turbo-rewritten ViT (default: the embedded ViT-Tiny) over an r × alpha grid on a
// labelled image folder, with measured throughput: JSON results, a plot (vega-lite → SVG) of top-1
// against measured throughput, and a generated section of docs/BENCHMARKS.md.
//
//   node dist/scripts/eval-grid.js [IMAGES_DIR] [--model DIR] [--r 0,4,8,13,16] [--alpha 0,0.1,0.5,1,5]
//        [--limit N] [--out FILE.json] [--plot FILE.svg | --no-plot] [--docs FILE.md | --no-docs]
//   node dist/scripts/eval-grid.js --from docs/eval/vit-tiny-grid.json   (re-render plot + markdown)
//
// Accuracy: one pass of every model over every image (batch 8; tensorflow backend when tfjs-node is
// installed, else wasm).
// Throughput, on a shared and noisy machine: after its accuracy pass each merged model and the
// unmerged one (both warm, both loaded) run the same few batches alternately (A B, B A, ...), each
// batch timed from input upload to the top-5 read back; the speed-up is the median over those pairs
// of unmerged seconds ÷ merged seconds, so both sides of each ratio saw the same load. The unmerged
// model's drift over the run is reported from those paired measurements and from its two full
// passes, before and after the grid (which must also give identical predictions).

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };
import { EMBEDDED_MODEL_DIR, rewriteGraph } from '../src/convert';
import { runProgram } from '../src/cli/run';
import { TurboInputError } from '../src/errors';
import { Graph } from '../src/graph/ir';
import { graphToArtifacts, readGraphModel } from '../src/graph/model_io';
import { readLabels } from '../src/image/labels';
import { Preprocessing, preprocessImage, readPreprocessing } from '../src/image/preprocess';
import { registerTurboOps } from '../src/ops/register';
import { NoTransformerBlocksError, planTurbo } from '../src/rewrite/pass';
import { BackendName, NODE_BACKENDS, defaultBackend, useBackend } from '../src/runtime/backend';
import { DEFAULT_TURBO_OPTIONS } from '../src/turbo/options';
import { estimateFlopRatio } from '../src/turbo/schedule';
import { replaceSection } from './markdown';
import { packageRoot } from '../src/paths';
import { median } from './stats';
import { readJsonFile } from '../src/json_file';

type VegaModule = typeof import('vega', { with: { 'resolution-mode': 'import' } });
type VegaLiteModule = typeof import('vega-lite', { with: { 'resolution-mode': 'import' } });

/** The repository root: the nearest directory above this file with a package.json (works from scripts/ and dist/scripts/). */
const ROOT = packageRoot();
const DEFAULT_IMAGES = path.resolve(ROOT, '..', 'shared', 'data', 'nips17-dev');
const DEFAULT_OUT = path.join(ROOT, 'docs', 'eval', 'vit-tiny-grid.json');
const DEFAULT_DOCS = path.join(ROOT, 'docs', 'BENCHMARKS.md');
const PLOT_NAME = 'accuracy-vs-throughput.svg';

/**
 * ViT-Tiny/16-224 preprocessing, copied from shared/models/vit-tiny-patch16-224/config.json, for
 * model directories without a preprocessing.json (e.g. a tensorflowjs_converter export).
 */
export const VIT_TINY_PREPROCESSING: Readonly<Preprocessing> = Object.freeze<Preprocessing>({
  color: 'RGB',
  resize_shortest_side: 248,
  interpolation: 'bicubic',
  center_crop: 224,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
});

/** ViT-Tiny widths, for the FLOP estimate when the model directory does not say. */
const VIT_TINY_DIMS = { hidden: 192, mlp: 768 };

// labels.csv: src/image/labels.ts (re-exported for the specs that test it through this script).
export { parseCsv, readLabels } from '../src/image/labels';
export type { Labelled } from '../src/image/labels';

// ---------------------------------------------------------------------------------------------
// ES modules from CommonJS

// tsc (module: commonjs) compiles `import(x)` to `require(x)`, which cannot load an ES module
// (vega, vega-lite 6) on every Node 20. A Function body is not rewritten, so this stays a real
// dynamic import. The specifier is resolved to a file URL first, so it does not depend on the cwd.
const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/** `import()` of an ESM-only package from this CommonJS build. */
export async function importEsm<T>(pkg: string): Promise<T> {
  let url: string;
  try {
    url = pathToFileURL(require.resolve(pkg)).href;
  } catch {
    throw new Error(`cannot find package '${pkg}' (a devDependency: run npm install)`);
  }
  try {
    return (await dynamicImport(url)) as T;
  } catch (e) {
    throw new Error(`cannot load the ES module '${pkg}' in this runtime (${(e as Error).message}); pass --no-plot to skip the plot`);
  }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

interface Batch {
  data: Float32Array;
  size: number;
}

interface Pass {
  /** Top-5 class indices per image, best first. */
  top5: number[][];
  seconds: number;
  imagesPerSec: number;
}

export interface GridRow {
  r: number;
  /** null for the unmerged model (alpha does not apply). */
  alpha: number | null;
  tokensAfterBlock: number[];
  tokensLast: number;
  flopRatio: number;
  top1: number;
  top5: number;
  /** top-1 minus the unmerged model's top-1, in points. */
  top1Delta: number;
  /** Share of images (%) whose top-1 class equals the unmerged model's. */
  agreement: number;
  /** images/s in the paired timing (Σ images ÷ Σ seconds over its batches). */
  imagesPerSec: number;
  /** The unmerged model's images/s in the same paired timing. */
  baselineImagesPerSec: number;
  /** Median over the paired batches of unmerged seconds ÷ this model's seconds. */
  speedup: number;
  /** images/s over the whole accuracy pass (one long window, more exposed to drift). */
  passImagesPerSec: number;
  paired?: PairedTiming;
  /** Top-1 class per image, in labels.csv order. */
  predictions: number[];
}

interface Options {
  model: string;
  r: number[];
  alpha: number[];
  /** Undefined until main() resolves the default. */
  backend?: BackendName;
  batch: number;
  warmup: number;
  pairs: number;
  limit?: number;
  out: string;
  plot?: string | false;
  docs: string | false;
  progress: boolean;
}

export interface ProgramIo {
  /** Notes, progress lines and errors. */
  err: (s: string) => void;
  /** The generated markdown. */
  out: (s: string) => void;
}

const processIo: ProgramIo = { err: (s) => process.stderr.write(s), out: (s) => process.stdout.write(s) };

function stack(batch: Float32Array[]): Float32Array {
  const data = new Float32Array(batch.length * batch[0].length);
  batch.forEach((c, j) => data.set(c, j * c.length));
  return data;
}

function forward(model: GraphModel, b: Batch, crop: number): tf.Tensor2D {
  return tf.tidy(() => {
    const x = tf.tensor4d(b.data, [b.size, 3, crop, crop]);
    const out = model.execute(x);
    const logits = (Array.isArray(out) ? out[0] : out) as tf.Tensor2D;
    return tf.topk(logits, 5).indices as tf.Tensor2D;
  });
}

/** Untimed warm-up, then one pass over every batch (timed as a whole). */
async function evaluate(model: GraphModel, batches: Batch[], crop: number, warmup: number, tick: (images: number) => void): Promise<Pass> {
  for (let i = 0; i < warmup; i++) await timeBatch(model, batches[i % batches.length], crop);
  const top5: number[][] = [];
  let images = 0;
  const t0 = performance.now();
  for (const b of batches) {
    const idx = forward(model, b, crop);
    top5.push(...((await idx.array()) as number[][]));
    idx.dispose();
    images += b.size;
    tick(b.size);
    await yieldToEventLoop(); // lets the progress bar's timer run
  }
  const seconds = (performance.now() - t0) / 1000;
  return { top5, seconds, imagesPerSec: images / seconds };
}

/** wasm reads resolve as microtasks, so a long evaluation never lets timers (the progress bar) run. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Seconds for one batch: upload, forward, top-5 read back. */
async function timeBatch(model: GraphModel, b: Batch, crop: number): Promise<number> {
  const t0 = performance.now();
  const idx = forward(model, b, crop);
  await idx.data();
  const t = (performance.now() - t0) / 1000;
  idx.dispose();
  return t;
}

export interface PairedTiming {
  /** Images per timed batch. */
  images: number[];
  unmergedSeconds: number[];
  turboSeconds: number[];
}

/**
 * Both (warm) models on the same batches, alternating A B, B A, ... so that both see the same
 * load on a shared machine.
 */
async function pairedTiming(unmerged: GraphModel, turbo: GraphModel, batches: Batch[], pairs: number, crop: number, tick: (images: number) => void): Promise<PairedTiming> {
  const t: PairedTiming = { images: [], unmergedSeconds: [], turboSeconds: [] };
  for (let k = 0; k < pairs; k++) {
    const b = batches[k % batches.length];
    if (k % 2 === 0) {
      t.unmergedSeconds.push(await timeBatch(unmerged, b, crop));
      t.turboSeconds.push(await timeBatch(turbo, b, crop));
    } else {
      t.turboSeconds.push(await timeBatch(turbo, b, crop));
      t.unmergedSeconds.push(await timeBatch(unmerged, b, crop));
    }
    t.images.push(b.size);
    tick(2 * b.size);
    await yieldToEventLoop();
  }
  return t;
}


const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function accuracy(top5: number[][], labels: number[]): { top1: number; top5: number } {
  let t1 = 0;
  let t5 = 0;
  top5.forEach((row, i) => {
    if (row[0] === labels[i]) t1++;
    if (row.includes(labels[i])) t5++;
  });
  return { top1: (100 * t1) / labels.length, top5: (100 * t5) / labels.length };
}

function checkModelDir(dir: string): void {
  if (!fs.existsSync(dir)) throw new TurboInputError(dir, 'model directory not found');
  const json = dir.endsWith('.json') ? dir : path.join(dir, 'model.json');
  if (!fs.existsSync(json)) throw new TurboInputError(json, 'not found (expected a tfjs graph model directory)');
}

function modelPreprocessing(dir: string, note: (s: string) => void): { prep: Preprocessing; source: string } {
  if (fs.existsSync(path.join(dir, 'preprocessing.json'))) return { prep: readPreprocessing(dir), source: 'preprocessing.json' };
  note(`note: ${path.join(dir, 'preprocessing.json')} not found; using the ViT-Tiny preprocessing (RGB, shortest side 248 bicubic, centre crop 224, mean = std = 0.5)\n`);
  return { prep: { ...VIT_TINY_PREPROCESSING }, source: 'default (ViT-Tiny config.json)' };
}

/** Hidden and MLP widths for the FLOP estimate: meta.json `network` (our converter) or `config` (HF), else ViT-Tiny. */
function modelDims(dir: string, note: (s: string) => void): { hidden: number; mlp: number } {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    const hidden = meta.network?.hidden ?? meta.config?.hidden_size;
    const mlp = meta.network?.mlp ?? meta.config?.intermediate_size;
    if (hidden > 0 && mlp > 0) return { hidden, mlp };
  } catch {
    // no or unreadable meta.json: fall through
  }
  note(`note: no widths in ${path.join(dir, 'meta.json')}; the FLOP ratio assumes ViT-Tiny (hidden 192, MLP 768)\n`);
  return VIT_TINY_DIMS;
}

/** [N, 3, H, W] input and [N, classes] output, from the model's signature when it has one. */
function checkSignature(graph: Graph, jsonPath: string, crop: number): number | undefined {
  const sig = graph.modelJson.signature as
    | { inputs?: Record<string, { tensorShape?: { dim?: { size?: string }[] } }>; outputs?: Record<string, { tensorShape?: { dim?: { size?: string }[] } }> }
    | undefined;
  const dims = (t?: { tensorShape?: { dim?: { size?: string }[] } }) => t?.tensorShape?.dim?.map((d) => Number(d.size ?? -1));
  const inputs = Object.values(sig?.inputs ?? {});
  if (inputs.length > 1) throw new TurboInputError(jsonPath, `has ${inputs.length} inputs; expected one image input`);
  const shape = dims(inputs[0]);
  if (shape && (shape.length !== 4 || shape[1] !== 3)) {
    throw new TurboInputError(jsonPath, `input shape [${shape.join(', ')}] is not NCHW [-1, 3, ${crop}, ${crop}]`);
  }
  if (shape && shape[2] > 0 && shape[2] !== crop) throw new TurboInputError(jsonPath, `input is ${shape[2]}x${shape[3]} but the preprocessing crops ${crop}x${crop}`);
  const out = dims(Object.values(sig?.outputs ?? {})[0]);
  return out && out.length === 2 && out[1] > 0 ? out[1] : undefined;
}

function plan(graph: Graph, jsonPath: string, r: number) {
  try {
    return planTurbo(graph, { r, rThreshold: DEFAULT_TURBO_OPTIONS.rThreshold });
  } catch (e) {
    if (e instanceof NoTransformerBlocksError) throw new TurboInputError(jsonPath, e.message);
    throw e;
  }
}

function rel(p: string, from = ROOT): string {
  const r = path.relative(from, p);
  return (r === '' ? '.' : r).split(path.sep).join('/');
}

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

function alphaLabel(a: number | null): string {
  return a === null ? 'unmerged' : a === 0 ? 'ToMe (alpha 0)' : `Turbo alpha ${a}`;
}

/** JSON with number arrays (predictions, token counts) kept on one line. */
function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_, inner: string) => `[${inner.split(/,\s*/).join(', ')}]`);
}

async function main(imagesDir: string, opts: Options, io: ProgramIo): Promise<void> {
  const snapshot = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-grid-model-'));
  try {
    await evaluateGrid(imagesDir, opts, io, snapshot);
  } finally {
    fs.rmSync(snapshot, { recursive: true, force: true });
  }
}

async function evaluateGrid(imagesDir: string, opts: Options, io: ProgramIo, snapshot: string): Promise<void> {
  const started = Date.now();
  const note = (s: string) => io.err(s);
  // Cheap checks first: labels, model, preprocessing; then decode every image before any model runs.
  imagesDir = path.resolve(imagesDir);
  const modelDir = path.resolve(opts.model);
  const csvPath = path.join(imagesDir, 'labels.csv');
  const entries = readLabels(imagesDir).slice(0, opts.limit ?? Infinity);
  for (const e of entries) {
    if (!fs.existsSync(path.join(imagesDir, e.file))) throw new TurboInputError(path.join(imagesDir, e.file), `image not found (listed on line ${e.line} of labels.csv)`);
  }
  checkModelDir(modelDir);
  const jsonPath = modelDir.endsWith('.json') ? modelDir : path.join(modelDir, 'model.json');
  const modelBase = modelDir.endsWith('.json') ? path.dirname(modelDir) : modelDir;
  const { prep, source: prepSource } = modelPreprocessing(modelBase, note);
  const dims = modelDims(modelBase, note);
  const crop = prep.center_crop;

  const baseGraph = await readGraphModel(modelDir); // errors name the user's files
  // Every configuration re-reads the model: from a snapshot, so that it cannot change under a long run.
  fs.cpSync(modelBase, snapshot, { recursive: true });
  const modelSha256 = crypto.createHash('sha256').update(fs.readFileSync(path.join(snapshot, path.basename(jsonPath)))).digest('hex');
  const classes = checkSignature(baseGraph, jsonPath, crop);
  if (classes !== undefined) {
    const bad = entries.find((e) => e.label >= classes);
    if (bad) throw new TurboInputError(csvPath, `line ${bad.line}: label ${bad.label} of '${bad.file}' is out of range for a model with ${classes} classes`);
  }
  const plan0 = plan(baseGraph, jsonPath, 0); // fails early, naming model.json, if it is not a transformer we can rewrite

  const bars = opts.progress ? new MultiBar({ stream: process.stderr, hideCursor: true, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 30000, format: '{task} [{bar}] {value}/{total} {info}' }, Presets.shades_classic) : null;
  const log = (s: string) => {
    if (!opts.progress) return;
    if (bars && process.stderr.isTTY) bars.log(s);
    else io.err(s);
  };

  const prepBar: SingleBar | undefined = bars?.create(entries.length, 0, { task: 'decoding images', info: '' });
  const pixels: Float32Array[] = [];
  for (const e of entries) {
    const file = path.join(imagesDir, e.file);
    pixels.push(await preprocessImage(file, prep)); // TurboInputError naming the file if it cannot be decoded
    prepBar?.increment(1, { info: e.file });
  }
  prepBar?.stop();
  if (prepBar) bars?.remove(prepBar);
  const labels = entries.map((e) => e.label);
  const batches: Batch[] = [];
  for (let i = 0; i < pixels.length; i += opts.batch) {
    const chunk = pixels.slice(i, i + opts.batch);
    batches.push({ data: stack(chunk), size: chunk.length });
  }
  pixels.length = 0;

  opts.backend ??= defaultBackend(); // resolved here so the JSON and the printed command name it
  await useBackend(opts.backend);
  registerTurboOps();

  const rs = [...new Set(opts.r.filter((r) => r > 0))];
  const alphas = [...new Set(opts.alpha)];
  const grid = rs.flatMap((r) => alphas.map((alpha) => ({ r, alpha })));
  const pairImages = Array.from({ length: opts.pairs }, (_, k) => batches[k % batches.length].size).reduce((x, y) => x + y, 0);
  const total = (2 + grid.length) * entries.length + grid.length * 2 * pairImages; // unmerged before + after, each config: accuracy pass + paired timing
  const gridBar: SingleBar | undefined = bars?.create(total, 0, { task: 'r × alpha grid ', info: '' });
  const tick = (n: number) => gridBar?.increment(n);

  const baseline = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(baseGraph)));
  const fullPasses: { when: string; imagesPerSec: number; seconds: number }[] = [];
  const measureBaseline = async (when: string): Promise<Pass> => {
    gridBar?.update({ info: `unmerged (${when})` });
    const pass = await evaluate(baseline, batches, crop, opts.warmup, tick);
    fullPasses.push({ when, imagesPerSec: pass.imagesPerSec, seconds: pass.seconds });
    log(`unmerged (${when}): ${fmt(pass.imagesPerSec)} images/s over the full pass\n`);
    return pass;
  };

  const first = await measureBaseline('before the grid');
  const unmergedTop1 = first.top5.map((t) => t[0]);
  const unmergedAcc = accuracy(first.top5, labels);
  log(`unmerged: top-1 ${fmt(unmergedAcc.top1)} top-5 ${fmt(unmergedAcc.top5)}\n`);

  const rows: GridRow[] = [];
  for (const cfg of grid) {
    gridBar?.update({ info: `r=${cfg.r} alpha=${cfg.alpha}` });
    const g = await readGraphModel(path.join(snapshot, path.basename(jsonPath)));
    const s = rewriteGraph(g, { ...DEFAULT_TURBO_OPTIONS, r: cfg.r, alpha: cfg.alpha }, jsonPath);
    const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(g)));
    let pass: Pass;
    let paired: PairedTiming;
    try {
      pass = await evaluate(model, batches, crop, opts.warmup, tick);
      gridBar?.update({ info: `r=${cfg.r} alpha=${cfg.alpha} (paired timing)` });
      paired = await pairedTiming(baseline, model, batches, opts.pairs, crop, tick);
    } finally {
      model.dispose();
    }
    const acc = accuracy(pass.top5, labels);
    const predictions = pass.top5.map((t) => t[0]);
    const tokens = s.plan.tokensAfterBlock;
    const row: GridRow = {
      r: cfg.r,
      alpha: cfg.alpha,
      tokensAfterBlock: tokens,
      tokensLast: tokens[tokens.length - 1],
      flopRatio: estimateFlopRatio(s.plan.tokenCount, tokens, dims),
      top1: acc.top1,
      top5: acc.top5,
      top1Delta: acc.top1 - unmergedAcc.top1,
      agreement: (100 * predictions.filter((p, i) => p === unmergedTop1[i]).length) / predictions.length,
      imagesPerSec: sum(paired.images) / sum(paired.turboSeconds),
      baselineImagesPerSec: sum(paired.images) / sum(paired.unmergedSeconds),
      speedup: median(paired.unmergedSeconds.map((u, i) => u / paired.turboSeconds[i])),
      passImagesPerSec: pass.imagesPerSec,
      predictions,
      paired,
    };
    rows.push(row);
    log(
      `r=${cfg.r} alpha=${cfg.alpha}: top-1 ${fmt(acc.top1)} top-5 ${fmt(acc.top5)}; paired ${fmt(row.imagesPerSec)} vs unmerged ${fmt(row.baselineImagesPerSec)} images/s, speed-up ${fmt(row.speedup, 2)}x\n`,
    );
  }
  const last = await measureBaseline('after the grid');
  baseline.dispose();
  gridBar?.stop();
  bars?.stop();
  const changed = last.top5.filter((t, i) => t[0] !== unmergedTop1[i]).length;
  if (changed) note(`warning: ${changed} of the unmerged model's top-1 predictions changed between its passes before and after the grid\n`);

  // Drift of the unmerged model's throughput over the run: its paired measurements beside every
  // configuration, and its two full passes.
  const pairedIps = rows.map((x) => x.baselineImagesPerSec);
  const unmergedIps = pairedIps.length ? median(pairedIps) : first.imagesPerSec;
  const drift = pairedIps.length ? (100 * (Math.max(...pairedIps) - Math.min(...pairedIps))) / unmergedIps : 0;
  const fullDrift = (100 * (last.imagesPerSec - first.imagesPerSec)) / first.imagesPerSec;
  const unmerged: GridRow = {
    r: 0,
    alpha: null,
    tokensAfterBlock: plan0.tokensAfterBlock,
    tokensLast: plan0.tokenCount,
    flopRatio: 1,
    top1: unmergedAcc.top1,
    top5: unmergedAcc.top5,
    top1Delta: 0,
    agreement: 100,
    imagesPerSec: unmergedIps,
    baselineImagesPerSec: unmergedIps,
    speedup: 1,
    passImagesPerSec: first.imagesPerSec,
    predictions: unmergedTop1,
  };
  const allRows = [unmerged, ...rows];

  const command = [
    'node dist/scripts/eval-grid.js',
    rel(imagesDir),
    `--model ${rel(modelDir)}`,
    `--r ${opts.r.join(',')}`,
    `--alpha ${opts.alpha.join(',')}`,
    opts.backend !== 'wasm' ? `--backend ${opts.backend}` : '',
    opts.batch !== 8 ? `--batch ${opts.batch}` : '',
    opts.warmup !== 2 ? `--warmup ${opts.warmup}` : '',
    opts.pairs !== 12 ? `--pairs ${opts.pairs}` : '',
    opts.limit !== undefined ? `--limit ${opts.limit}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const cpus = os.cpus();
  const result: GridResult = {
    tool: 'scripts/eval-grid.ts',
    date: new Date().toISOString(),
    command,
    wallSeconds: (Date.now() - started) / 1000,
    model: {
      dir: rel(modelDir),
      embedded: path.resolve(modelBase) === path.resolve(EMBEDDED_MODEL_DIR),
      modelJsonSha256: modelSha256,
      preprocessing: prep,
      preprocessingSource: prepSource,
      dims,
    },
    images: { dir: rel(imagesDir), name: path.basename(imagesDir), count: entries.length, files: entries.map((e) => e.file), labels },
    backend: tf.getBackend(),
    batch: opts.batch,
    warmupBatches: opts.warmup,
    pairs: opts.pairs,
    turbo: { beta: DEFAULT_TURBO_OPTIONS.beta, gamma: DEFAULT_TURBO_OPTIONS.gamma, rThreshold: DEFAULT_TURBO_OPTIONS.rThreshold, propAttn: DEFAULT_TURBO_OPTIONS.propAttn },
    machine: { node: process.version, cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, platform: `${os.platform()} ${os.arch()}`, loadAverage: os.loadavg() },
    unmerged: {
      fullPasses,
      pairedImagesPerSec: { min: pairedIps.length ? Math.min(...pairedIps) : NaN, median: unmergedIps, max: pairedIps.length ? Math.max(...pairedIps) : NaN },
      pairedDriftPercent: drift,
      fullPassDriftPercent: fullDrift,
      predictionsChanged: changed,
    },
    rows: [unmerged, ...rows],
  };
  fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
  fs.writeFileSync(opts.out, formatJson(result) + '\n');
  note(`wrote ${rel(path.resolve(opts.out), process.cwd())}\n`);
  await publish(result, path.resolve(opts.out), opts, io);
}

export interface GridResult {
  tool: string;
  date: string;
  command: string;
  wallSeconds: number;
  model: { dir: string; embedded: boolean; modelJsonSha256: string; preprocessing: Preprocessing; preprocessingSource: string; dims: { hidden: number; mlp: number } };
  images: { dir: string; name: string; count: number; files: string[]; labels: number[] };
  backend: string;
  batch: number;
  warmupBatches: number;
  pairs: number;
  turbo: { beta: number; gamma: number; rThreshold: number; propAttn: boolean };
  machine: { node: string; cpu: string; cores: number; platform: string; loadAverage: number[] };
  unmerged: {
    fullPasses: { when: string; imagesPerSec: number; seconds: number }[];
    pairedImagesPerSec: { min: number; median: number; max: number };
    pairedDriftPercent: number;
    fullPassDriftPercent: number;
    predictionsChanged: number;
  };
  /** The unmerged model first (alpha null), then the grid. */
  rows: GridRow[];
}

/** Plot and markdown from a result (fresh, or read back with --from). */
async function publish(result: GridResult, jsonPath: string, opts: Options, io: ProgramIo): Promise<void> {
  let svgPath: string | null = null;
  if (opts.plot !== false) {
    svgPath = path.resolve(opts.plot ?? path.join(path.dirname(jsonPath), PLOT_NAME));
    const title = `${path.basename(result.model.dir)} on ${result.images.name} (${result.images.count} photos): top-1 vs measured throughput`;
    fs.mkdirSync(path.dirname(svgPath), { recursive: true });
    fs.writeFileSync(svgPath, await renderPlot(plotSpec(result.rows, title)));
    io.err(`wrote ${rel(svgPath, process.cwd())}\n`);
  }
  const docs = opts.docs === false ? null : path.resolve(opts.docs);
  const md = markdown(result, svgPath, docs);
  if (docs) {
    replaceSection(docs, 'eval-grid', md);
    io.err(`updated the eval-grid section of ${rel(docs, process.cwd())}\n`);
  }
  io.out(md + '\n');
}

/** --from: re-render the plot and the markdown from a saved JSON, without evaluating. */
async function republish(file: string, opts: Options, io: ProgramIo): Promise<void> {
  const result = readJsonFile(file) as GridResult;
  if (!Array.isArray(result.rows) || !result.unmerged || !result.model) throw new TurboInputError(file, 'not an eval-grid result (no rows, unmerged or model)');
  await publish(result, path.resolve(file), opts, io);
}

function markdown(result: GridResult, svgPath: string | null, docsPath: string | null): string {
  const rows = result.rows;
  const unmerged = rows[0];
  const turbo = rows.slice(1);
  const rs = [...new Set(turbo.map((x) => x.r))];
  const alphas = [...new Set(turbo.map((x) => x.alpha as number))];
  const best = (r: number) => Math.max(...turbo.filter((x) => x.r === r).map((x) => x.top1));
  const cell = (r: number, a: number) => {
    const x = turbo.find((y) => y.r === r && y.alpha === a);
    if (!x) return '';
    const t = fmt(x.top1);
    return x.top1 === best(r) ? `**${t}**` : t;
  };
  const u = result.unmerged;
  const full = u.fullPasses.map((p) => `${fmt(p.imagesPerSec)} (${p.when})`).join(', ');
  const signed = (x: number, d = 1) => (x >= 0 ? '+' : '−') + fmt(Math.abs(x), d);
  const lines = [
    `## Accuracy vs measured throughput: r × alpha grid on ${result.images.name} (generated)`,
    '',
    `Generated by \`${result.command}\` on ${result.date.slice(0, 10)} in ${result.wallSeconds < 120 ? `${fmt(result.wallSeconds, 0)} s` : `${fmt(result.wallSeconds / 60, 0)} min`}: ` +
      `${result.images.count} labelled photos (${result.images.name}), model \`${result.model.dir}\`${result.model.embedded ? ' (the embedded model)' : ''}, ` +
      `preprocessing from ${result.model.preprocessingSource}; ${result.backend} backend, batch ${result.batch}; Node ${result.machine.node}, ` +
      `${result.machine.cpu}, ${result.machine.cores} cores shared with other jobs (load average at the end ${result.machine.loadAverage.map((l) => fmt(l)).join(' / ')}). ` +
      `Turbo options other than r and alpha at their defaults (beta ${result.turbo.beta}, gamma ${result.turbo.gamma}, r_threshold ${result.turbo.rThreshold}, proportional attention ${result.turbo.propAttn ? 'on' : 'off'}, class token protected).`,
    '',
    `Throughput is measured in pairs: after its accuracy pass, each merged model and the unmerged one (both warm) run the same ${result.pairs} batch${result.pairs === 1 ? '' : 'es'} alternately (A B, B A, …), ` +
      'each batch timed from input upload to the top-5 read back; images/s is Σ images ÷ Σ seconds of those batches and speed-up is the median over the pairs of ' +
      "unmerged seconds ÷ merged seconds, so both sides of every ratio saw the same load. " +
      `The unmerged model's paired images/s drifted between ${fmt(u.pairedImagesPerSec.min)} and ${fmt(u.pairedImagesPerSec.max)} over the run ` +
      `(median ${fmt(u.pairedImagesPerSec.median)}; spread ${fmt(u.pairedDriftPercent, 0)} % of the median); its full ${result.images.count}-image passes ran at ${full} images/s ` +
      `(${signed(u.fullPassDriftPercent, 0)} %)${u.predictionsChanged ? `, and ${u.predictionsChanged} of its top-1 predictions differed between them` : ', with identical predictions'}.`,
    '',
  ];
  if (svgPath) lines.push(`![top-1 vs measured throughput](${docsPath ? rel(svgPath, path.dirname(docsPath)) : svgPath})`, '');
  lines.push(
    `Top-1 (%) by r (tokens merged per block) and alpha (0 = ToMe); bold: best at that r. Unmerged: ${fmt(unmerged.top1)}.`,
    '',
    `| r | tokens left | ${alphas.map((a) => (a === 0 ? 'alpha 0 (ToMe)' : `alpha ${a}`)).join(' | ')} |`,
    `| ---: | ---: | ${alphas.map(() => '---:').join(' | ')} |`,
    ...rs.map((r) => `| ${r} | ${turbo.find((x) => x.r === r)!.tokensLast} | ${alphas.map((a) => cell(r, a)).join(' | ')} |`),
    '',
    "All rows. Δ: top-1 minus unmerged, in points (one photo = " + fmt(100 / result.images.count, 1) + " points); agreement: photos whose top-1 class equals the unmerged model's.",
    '',
    '| r | alpha | tokens after last block | FLOP ratio | top-1 | Δ top-1 | top-5 | agreement | images/s | unmerged images/s (paired) | speed-up |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((x) =>
      x.alpha === null
        ? `| 0 | – (unmerged) | ${x.tokensLast} | 1.00x | ${fmt(x.top1)} |  | ${fmt(x.top5)} | 100.0 | ${fmt(x.imagesPerSec)} (median) |  | 1.00x |`
        : `| ${x.r} | ${x.alpha} | ${x.tokensLast} | ${fmt(x.flopRatio, 2)}x | ${fmt(x.top1)} | ${signed(x.top1Delta)} | ${fmt(x.top5)} | ${fmt(x.agreement)} | ${fmt(x.imagesPerSec)} | ${fmt(x.baselineImagesPerSec)} | ${fmt(x.speedup, 2)}x |`,
    ),
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Plot

/**
 * vega-lite spec: one line per alpha (ToMe dashed grey), each starting at the unmerged point
 * (black diamond); point shape = r; x = measured speed-up, y = top-1.
 */
export function plotSpec(rows: GridRow[], title: string): TopLevelSpec {
  const unmerged = rows.find((x) => x.alpha === null);
  const turbo = rows.filter((x) => x.alpha !== null);
  const alphas = [...new Set(turbo.map((x) => x.alpha as number))].sort((a, b) => a - b);
  const rs = [...new Set(turbo.map((x) => x.r))].sort((a, b) => a - b);
  const curves = alphas.map(alphaLabel);
  const point = (x: GridRow, curve: string) => ({ curve, r: x.r, rLabel: `r = ${x.r}`, alpha: x.alpha, top1: x.top1, speedup: x.speedup, imagesPerSec: x.imagesPerSec });
  const lineData = alphas.flatMap((a) => [...(unmerged ? [unmerged] : []), ...turbo.filter((x) => x.alpha === a)].map((x) => point(x, alphaLabel(a))));
  const pointData = turbo.map((x) => point(x, alphaLabel(x.alpha)));
  const warm = ['#fdae61', '#f46d43', '#d73027', '#a50026', '#67001f', '#74add1', '#4575b4'];
  let k = 0;
  const colours = curves.map((c) => (c.startsWith('ToMe') ? '#666666' : warm[k++ % warm.length]));
  const x = { field: 'speedup', type: 'quantitative', title: 'measured throughput: images/s ÷ unmerged images/s', scale: { zero: false, nice: false, padding: 18 } } as const;
  const y = { field: 'top1', type: 'quantitative', title: 'top-1 (%)', scale: { zero: false, padding: 14 } } as const;
  const color = { field: 'curve', type: 'nominal', title: 'merging', sort: curves, scale: { domain: curves, range: colours } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, fontSize: 12 },
    width: 560,
    height: 360,
    background: 'white',
    config: { axis: { grid: true, gridOpacity: 0.5 }, legend: { labelFontSize: 10, titleFontSize: 10 } },
    layer: [
      {
        data: { values: lineData },
        mark: { type: 'line', strokeWidth: 1.6 },
        encoding: {
          x,
          y,
          order: { field: 'r', type: 'quantitative' },
          color,
          strokeDash: { field: 'curve', type: 'nominal', sort: curves, scale: { domain: curves, range: curves.map((c) => (c.startsWith('ToMe') ? [5, 3] : [1, 0])) } },
        },
      },
      {
        data: { values: pointData },
        mark: { type: 'point', filled: true, size: 50, opacity: 0.95 },
        encoding: {
          x,
          y,
          color,
          shape: { field: 'rLabel', type: 'nominal', title: 'r (per block)', sort: rs.map((r) => `r = ${r}`) },
        },
      },
      ...(unmerged
        ? [
            {
              data: { values: [point(unmerged, 'unmerged')] },
              layer: [
                { mark: { type: 'point' as const, shape: 'diamond', size: 130, filled: true, color: 'black', opacity: 1 }, encoding: { x, y } },
                { mark: { type: 'text' as const, align: 'left' as const, dx: 8, dy: -10, fontSize: 10 }, encoding: { x, y, text: { value: `unmerged ${fmt(unmerged.top1)} %` } } },
              ],
            },
          ]
        : []),
    ],
    resolve: { scale: { color: 'shared' } },
  } as TopLevelSpec;
}

/** vega-lite → vega → SVG, headless. */
export async function renderPlot(spec: TopLevelSpec): Promise<string> {
  const vl = await importEsm<VegaLiteModule>('vega-lite');
  const vega = await importEsm<VegaModule>('vega');
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

// ---------------------------------------------------------------------------------------------
// CLI

function list(name: string, integer: boolean) {
  return (s: string): number[] => {
    const values = s.split(',').map((v) => v.trim());
    return values.map((v) => {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name}: '${v}' is not a number`);
      if (integer && (!Number.isInteger(n) || n < 0)) throw new InvalidArgumentError(`${name}: '${v}' is not a non-negative integer`);
      return n;
    });
  };
}

function positive(name: string) {
  return (s: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name}: '${s}' is not a positive integer`);
    return n;
  };
}

export function buildProgram(io: ProgramIo = processIo): Command {
  return new Command('eval-grid')
    .description('Top-1/top-5 and measured throughput of Turbo ViT over an r × alpha grid on a labelled image folder.')
    .argument('[IMAGES_DIR]', 'folder with the images and labels.csv (columns file,label)', DEFAULT_IMAGES)
    .option('--model <dir>', 'tfjs graph model directory (default: the embedded ViT-Tiny)', EMBEDDED_MODEL_DIR)
    .option('--r <list>', 'tokens merged per block, comma-separated (the unmerged model is always measured)', list('--r', true), [0, 4, 8, 13, 16])
    .option('--alpha <list>', 'alpha values; 0 is ToMe', list('--alpha', false), [0, 0.1, 0.5, 1, 5])
    .addOption(new Option('--backend <name>', 'tfjs backend (default: tensorflow when tfjs-node is installed, else wasm)').choices(NODE_BACKENDS as string[]))
    .option('--batch <n>', 'images per batch', positive('--batch'), 8)
    .option('--warmup <n>', 'untimed warm-up batches per model', (s) => (s === '0' ? 0 : positive('--warmup')(s)), 2)
    .option('--pairs <n>', 'paired timing batches per configuration (merged and unmerged alternately)', positive('--pairs'), 12)
    .option('--limit <n>', 'only the first n images of labels.csv', positive('--limit'))
    .option('--out <file>', 'JSON results', DEFAULT_OUT)
    .option('--plot <file>', `SVG plot (default: ${PLOT_NAME} beside the JSON)`)
    .option('--no-plot', 'skip the plot')
    .option('--docs <file>', "markdown file whose 'eval-grid' section is replaced", DEFAULT_DOCS)
    .option('--no-docs', 'do not touch any markdown file')
    .option('--no-progress', 'no progress bars or per-configuration lines')
    .option('--from <json>', 'evaluate nothing: re-render the plot and the markdown from a saved result')
    .action((imagesDir: string, opts: Options & { from?: string }) => (opts.from ? republish(opts.from, opts, io) : main(imagesDir, opts, io)));
}

if (require.main === module) runProgram(buildProgram(), process.argv.slice(2)).then((c) => (process.exitCode = c));
