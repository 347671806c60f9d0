// eval-grid's run: check and decode everything first (inputs.ts), then the unmerged model, every
// (r, alpha) configuration (accuracy pass, then paired timing against the unmerged model), the
// unmerged model again; the result is written and published (render.ts).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import { MultiBar, Presets } from 'cli-progress';
import { embeddedModelDir, rewriteGraph } from '../../../src/convert';
import { graphToArtifacts, readGraphModel } from '../../../src/graph/model_io';
import { registerTurboOps } from '../../../src/ops/register';
import { BackendName, defaultBackend, useBackend } from '../../../src/runtime/backend';
import { DEFAULT_TURBO_OPTIONS } from '../../../src/turbo/options';
import { estimateFlopRatio } from '../../../src/turbo/schedule';
import { machineInfo } from '../machine';
import { median } from '../../../src/runtime/timing';
import { Batch, Pass, accuracy, evaluate, pairedTiming, sum } from './evaluate';
import { GridInputs, checkInputs, decodeBatches } from './inputs';
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

/** What every configuration is measured with. */
interface Bench {
  inputs: GridInputs;
  batches: Batch[];
  baseline: GraphModel;
  first: Pass;
  unmergedTop1: number[];
  unmergedAcc: { top1: number; top5: number };
  tick: (images: number) => void;
  info: (s: string) => void;
}

async function evaluateGrid(imagesDir: string, opts: GridOptions, io: ProgramIo, snapshot: string): Promise<void> {
  const started = Date.now();
  const note = (s: string) => io.err(s);
  const inputs = await checkInputs(imagesDir, opts.model, opts.limit, snapshot, note);

  const bars = opts.progress ? new MultiBar({ stream: process.stderr, hideCursor: true, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 30000, format: '{task} [{bar}] {value}/{total} {info}' }, Presets.shades_classic) : null;
  const log = (s: string) => {
    if (!opts.progress) return;
    if (bars && process.stderr.isTTY) bars.log(s);
    else io.err(s);
  };
  const batches = await decodeBatches(inputs, opts.batch, bars);

  opts.backend ??= defaultBackend(); // resolved here so the JSON and the printed command name it
  await useBackend(opts.backend);
  registerTurboOps();

  const rs = [...new Set(opts.r.filter((r) => r > 0))];
  const alphas = [...new Set(opts.alpha)];
  const grid = rs.flatMap((r) => alphas.map((alpha) => ({ r, alpha })));
  const pairImages = Array.from({ length: opts.pairs }, (_, k) => batches[k % batches.length].size).reduce((x, y) => x + y, 0);
  const total = (2 + grid.length) * inputs.entries.length + grid.length * 2 * pairImages; // unmerged before + after, each config: accuracy pass + paired timing
  const gridBar = bars?.create(total, 0, { task: 'r × alpha grid ', info: '' });
  const tick = (n: number) => gridBar?.increment(n);

  const baseline = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(inputs.baseGraph)));
  const fullPasses: { when: string; imagesPerSec: number; seconds: number }[] = [];
  const measureBaseline = async (when: string): Promise<Pass> => {
    gridBar?.update({ info: `unmerged (${when})` });
    const pass = await evaluate(baseline, batches, inputs.crop, opts.warmup, tick);
    fullPasses.push({ when, imagesPerSec: pass.imagesPerSec, seconds: pass.seconds });
    log(`unmerged (${when}): ${fmt(pass.imagesPerSec)} images/s over the full pass\n`);
    return pass;
  };

  const first = await measureBaseline('before the grid');
  const unmergedTop1 = first.top5.map((t) => t[0]);
  const unmergedAcc = accuracy(first.top5, inputs.labels);
  log(`unmerged: top-1 ${fmt(unmergedAcc.top1)} top-5 ${fmt(unmergedAcc.top5)}\n`);

  const bench: Bench = { inputs, batches, baseline, first, unmergedTop1, unmergedAcc, tick, info: (s) => gridBar?.update({ info: s }) };
  const rows: GridRow[] = [];
  for (const cfg of grid) {
    const row = await measureConfig(cfg.r, cfg.alpha, bench, opts);
    rows.push(row);
    log(
      `r=${cfg.r} alpha=${cfg.alpha}: top-1 ${fmt(row.top1)} top-5 ${fmt(row.top5)}; paired ${fmt(row.imagesPerSec)} vs unmerged ${fmt(row.baselineImagesPerSec)} images/s, speed-up ${fmt(row.speedup, 2)}x\n`,
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
  const m = machineInfo();
  const result: GridResult = {
    tool: 'scripts/eval-grid.ts',
    date: new Date().toISOString(),
    command: commandLine(inputs, opts),
    wallSeconds: (Date.now() - started) / 1000,
    model: {
      dir: rel(inputs.modelDir),
      embedded: path.resolve(inputs.modelBase) === path.resolve(embeddedModelDir()),
      modelJsonSha256: inputs.modelSha256,
      preprocessing: inputs.prep,
      preprocessingSource: inputs.prepSource,
      dims: inputs.dims,
    },
    images: { dir: rel(inputs.imagesDir), name: path.basename(inputs.imagesDir), count: inputs.entries.length, files: inputs.entries.map((e) => e.file), labels: inputs.labels },
    backend: tf.getBackend(),
    batch: opts.batch,
    warmupBatches: opts.warmup,
    pairs: opts.pairs,
    turbo: { beta: DEFAULT_TURBO_OPTIONS.beta, gamma: DEFAULT_TURBO_OPTIONS.gamma, rThreshold: DEFAULT_TURBO_OPTIONS.rThreshold, propAttn: DEFAULT_TURBO_OPTIONS.propAttn },
    machine: { node: m.node, cpu: m.cpu, cores: m.cores, platform: `${m.platform} ${m.arch}`, loadAverage: os.loadavg() },
    unmerged: {
      fullPasses,
      pairedImagesPerSec: { min: pairedIps.length ? Math.min(...pairedIps) : NaN, median: unmergedIps, max: pairedIps.length ? Math.max(...pairedIps) : NaN },
      pairedDriftPercent: pairedIps.length ? (100 * (Math.max(...pairedIps) - Math.min(...pairedIps))) / unmergedIps : 0,
      fullPassDriftPercent: (100 * (last.imagesPerSec - first.imagesPerSec)) / first.imagesPerSec,
      predictionsChanged: changed,
    },
    rows: [unmergedRow(bench, unmergedIps), ...rows],
  };
  fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
  fs.writeFileSync(opts.out, formatJson(result) + '\n');
  note(`wrote ${rel(path.resolve(opts.out), process.cwd())}\n`);
  await publish(result, path.resolve(opts.out), opts, io);
}

/** One configuration: its accuracy pass, then its paired timing against the unmerged model. */
async function measureConfig(r: number, alpha: number, b: Bench, opts: GridOptions): Promise<GridRow> {
  b.info(`r=${r} alpha=${alpha}`);
  const g = await readGraphModel(b.inputs.snapshotJson);
  const s = rewriteGraph(g, { ...DEFAULT_TURBO_OPTIONS, r, alpha }, b.inputs.jsonPath);
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(g)));
  let pass: Pass;
  let paired: PairedTiming;
  try {
    pass = await evaluate(model, b.batches, b.inputs.crop, opts.warmup, b.tick);
    b.info(`r=${r} alpha=${alpha} (paired timing)`);
    paired = await pairedTiming(b.baseline, model, b.batches, opts.pairs, b.inputs.crop, b.tick);
  } finally {
    model.dispose();
  }
  const acc = accuracy(pass.top5, b.inputs.labels);
  const predictions = pass.top5.map((t) => t[0]);
  const tokens = s.plan.tokensAfterBlock;
  return {
    r,
    alpha,
    tokensAfterBlock: tokens,
    tokensLast: tokens[tokens.length - 1],
    flopRatio: estimateFlopRatio(s.plan.tokenCount, tokens, b.inputs.dims),
    top1: acc.top1,
    top5: acc.top5,
    top1Delta: acc.top1 - b.unmergedAcc.top1,
    agreement: (100 * predictions.filter((p, i) => p === b.unmergedTop1[i]).length) / predictions.length,
    imagesPerSec: sum(paired.images) / sum(paired.turboSeconds),
    baselineImagesPerSec: sum(paired.images) / sum(paired.unmergedSeconds),
    speedup: median(paired.unmergedSeconds.map((u, i) => u / paired.turboSeconds[i])),
    passImagesPerSec: pass.imagesPerSec,
    predictions,
    paired,
  };
}

/** The unmerged model's row: its first pass, and its median paired images/s. */
function unmergedRow(b: Bench, unmergedIps: number): GridRow {
  return {
    r: 0,
    alpha: null,
    tokensAfterBlock: b.inputs.plan0.tokensAfterBlock,
    tokensLast: b.inputs.plan0.tokenCount,
    flopRatio: 1,
    top1: b.unmergedAcc.top1,
    top5: b.unmergedAcc.top5,
    top1Delta: 0,
    agreement: 100,
    imagesPerSec: unmergedIps,
    baselineImagesPerSec: unmergedIps,
    speedup: 1,
    passImagesPerSec: b.first.imagesPerSec,
    predictions: b.unmergedTop1,
  };
}

/** The command that reproduces this run (options at their defaults left out). */
function commandLine(inputs: GridInputs, opts: GridOptions): string {
  return [
    'node dist/scripts/eval-grid.js',
    rel(inputs.imagesDir),
    `--model ${rel(inputs.modelDir)}`,
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
}
