// eval-grid's run: check and decode everything first, then the unmerged model, every (r, alpha)
// configuration (accuracy pass, then paired timing against the unmerged model), the unmerged model
// again; the result is written and published (render.ts).

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { EMBEDDED_MODEL_DIR, rewriteGraph } from '../../../src/convert';
import { TurboInputError } from '../../../src/errors';
import { graphToArtifacts, readGraphModel } from '../../../src/graph/model_io';
import { readLabels } from '../../../src/image/labels';
import { preprocessImage } from '../../../src/image/preprocess';
import { registerTurboOps } from '../../../src/ops/register';
import { BackendName, defaultBackend, useBackend } from '../../../src/runtime/backend';
import { DEFAULT_TURBO_OPTIONS } from '../../../src/turbo/options';
import { estimateFlopRatio } from '../../../src/turbo/schedule';
import { machineInfo } from '../machine';
import { median } from '../timing';
import { Batch, Pass, accuracy, evaluate, pairedTiming, stack, sum } from './evaluate';
import { checkModelDir, checkSignature, modelDims, modelPreprocessing, plan } from './model';
import { ProgramIo, PublishOptions, publish } from './render';
import { GridResult, GridRow, PairedTiming, fmt, formatJson, rel } from './results';

export interface GridOptions extends PublishOptions {
  model: string;
  r: number[];
  alpha: number[];
  /** Undefined until runGrid() resolves the default. */
  backend?: BackendName;
  batch: number;
  warmup: number;
  pairs: number;
  limit?: number;
  out: string;
  progress: boolean;
}

/** The whole run, on a snapshot of the model directory in a temporary folder. */
export async function runGrid(imagesDir: string, opts: GridOptions, io: ProgramIo): Promise<void> {
  const snapshot = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-grid-model-'));
  try {
    await evaluateGrid(imagesDir, opts, io, snapshot);
  } finally {
    fs.rmSync(snapshot, { recursive: true, force: true });
  }
}

async function evaluateGrid(imagesDir: string, opts: GridOptions, io: ProgramIo, snapshot: string): Promise<void> {
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
  const m = machineInfo();
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
    machine: { node: m.node, cpu: m.cpu, cores: m.cores, platform: `${m.platform} ${m.arch}`, loadAverage: os.loadavg() },
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
