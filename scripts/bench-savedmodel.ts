#!/usr/bin/env node
// SavedModels against onnxruntime-node, one interleaved run, 1 thread everywhere: the unmerged
// SavedModel and the Turbo SavedModel (native TurboMerge inside) run by TensorFlow through
// tfjs-node, and the same network exported to ONNX (scripts/bench/export_onnx.py) run by
// onnxruntime-node. Writes docs/bench/savedmodel.json and the 'bench-savedmodel' section of
// docs/BENCHMARKS.md.
//
//   npm run setup:native && npm run build:native-ops && npx tsc -p tsconfig.json &&
//   node dist/scripts/bench-savedmodel.js --python PYTHON_WITH_ONNX
//
// Each engine is a worker process (bench/savedmodel/worker.ts: TensorFlow fixes its thread pools
// at start); this parent runs one model at a time round-robin over every (engine, model), the first
// rotating each round, so drift on the shared machine hits every engine alike (src/runtime/timing.ts's
// interleave, timed in the workers). Reuses bench's ONNX export, inputs, runners, parity vectors
// and random ViT-B (scripts/bench/).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { rewriteGraph } from '../src/convert';
import { readGraphModel } from '../src/graph/model_io';
import { runProgram } from '../src/cli/run';
import { packageRoot } from '../src/paths';
import { writeSavedModel } from '../src/savedmodel/write';
import { estimateFlopRatio } from '../src/turbo/schedule';
import { ParityResult, maxAbsDiff, officialLogits, readParity } from './bench/inputs';
import { machineLine } from './bench/machine';
import { MODELS, modelOnDisk } from './bench/models';
import { checkPython, exportOnnx } from './bench/onnx';
import type { SmEngine, SmRequest } from './bench/savedmodel/worker';
import { interleave, median } from '../src/runtime/timing';
import { BenchWorker } from './bench/worker_process';
import { replaceSection } from './markdown';

const ROOT = packageRoot();

type Worker = BenchWorker<SmRequest, SmEngine>;
const Worker = {
  start(engine: SmEngine): Worker {
    const env = { TF_CPP_MIN_LOG_LEVEL: '2', TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' };
    return BenchWorker.start<SmRequest, SmEngine>(path.join(__dirname, 'bench', 'savedmodel', 'worker.js'), engine, env);
  },
};

/** One timed network: an engine and a file it loaded. */
interface Entry {
  key: 'savedmodel' | 'turbo' | 'portable' | 'unfused' | 'turbo-unfused' | 'onnx';
  label: string;
  worker: Worker;
  index: number;
  r: number;
  alpha: number;
}

interface Cell {
  key: Entry['key'];
  label: string;
  r: number;
  alpha: number;
  wallMs: number;
  cpuMs: number;
  imagesPerSec: number;
  /** ViT-Tiny: max abs diff of the warm-up logits against the official vectors (batch 8 = all 8 images). */
  parity?: number;
}

interface Group {
  model: string;
  batch: number;
  rounds: number;
  turbo: { r: number; alpha: number; tokensAfterBlock: number[]; flopRatio: number };
  cells: Cell[];
}

interface SmResult {
  date: string;
  machine: string;
  command: string;
  engines: Record<string, string>;
  peer: string;
  groups: Group[];
}

interface Opts {
  models: string;
  tinyBatches: string;
  bBatches: string;
  tinyR: number;
  bR: number;
  alpha: number;
  rounds: number;
  roundsB: number;
  warmup: number;
  python: string;
  shared: string;
  onnxCache: string;
  json: string;
  md: string;
  fromJson?: string;
}

/** The graph model, its unmerged and Turbo SavedModels, and its ONNX export. */
async function prepare(model: string, r: number, opts: Opts, peer: ReturnType<typeof checkPython>, tmp: string, log: (s: string) => void) {
  const { graphDir, checkpoint } = await modelOnDisk(model, opts.shared, tmp, log);
  const original = path.join(tmp, `${model}-savedmodel`);
  const unmergedGraph = await readGraphModel(graphDir);
  await writeSavedModel(unmergedGraph, original);
  // The same graphs written with the ops as tfjs has them (writeSavedModel's fuse: false), to price
  // the writer's LayerNorm / GELU / q-k-v rewrites (src/savedmodel/fuse.ts).
  const unfused = path.join(tmp, `${model}-unfused-savedmodel`);
  await writeSavedModel(unmergedGraph, unfused, { fuse: false });
  const graph = await readGraphModel(graphDir);
  const summary = rewriteGraph(graph, { r, alpha: opts.alpha, beta: 1, gamma: 0, rThreshold: 0, propAttn: true });
  const turbo = path.join(tmp, `${model}-turbo-r${r}-savedmodel`);
  await writeSavedModel(graph, turbo);
  const turboUnfused = path.join(tmp, `${model}-turbo-r${r}-unfused-savedmodel`);
  await writeSavedModel(graph, turboUnfused, { fuse: false });
  // The same Turbo graph with the merge in standard TF ops (--portable), to price the custom op.
  const lowered = await readGraphModel(graphDir);
  rewriteGraph(lowered, { r, alpha: opts.alpha, beta: 1, gamma: 0, rThreshold: 0, propAttn: true, portable: true });
  const portable = path.join(tmp, `${model}-turbo-r${r}-portable-savedmodel`);
  await writeSavedModel(lowered, portable);
  const { plan } = summary;
  const flopRatio = plan.dims ? estimateFlopRatio(plan.tokenCount, plan.tokensAfterBlock, plan.dims) : NaN;
  const onnx = peer.skipped ? null : exportOnnx(peer, checkpoint, opts.onnxCache, MODELS[model].onnxName, log);
  return { original, turbo, portable, unfused, turboUnfused, onnx, tokensAfterBlock: plan.tokensAfterBlock, flopRatio };
}

async function measureGroup(model: string, batch: number, rounds: number, warmup: number, entries: Entry[], parity: ParityResult[], log: (s: string) => void): Promise<Cell[]> {
  // The workers time each run; the first warm-up run of each keeps its logits to check (so at least one).
  const { warm: outputs, times } = await interleave(
    entries.map((e) => ({
      label: e.label,
      run: async ({ round, warmup: w }: { round: number; warmup: boolean }) => {
        const t = await e.worker.ask<{ wallMs: number; cpuMs: number; output?: number[] }>({ cmd: 'run', variant: e.index, batch, keepOutput: w && round === 0 });
        return { wallMs: t.wallMs, cpuMs: t.cpuMs, value: t.output };
      },
    })),
    { rounds, warmup: Math.max(1, warmup) },
  );
  log(`${model} b${batch}: ${entries.map((e, i) => `${e.label} ${median(times[i].wall).toFixed(1)} ms`).join(', ')}`);
  return entries.map((e, i) => {
    const wallMs = median(times[i].wall);
    const official = model === 'vit-tiny' ? officialLogits(parity, e.r, e.alpha, batch) : undefined;
    const out = outputs[i];
    const d = official && out ? maxAbsDiff(official, out) : undefined;
    return { key: e.key, label: e.label, r: e.r, alpha: e.alpha, wallMs, cpuMs: median(times[i].cpu), imagesPerSec: (1000 * batch) / wallMs, ...(d === undefined ? {} : { parity: d }) };
  });
}

async function main(opts: Opts): Promise<void> {
  const log = (s: string) => console.error(s);
  if (opts.fromJson) return render(JSON.parse(fs.readFileSync(opts.fromJson, 'utf8')) as SmResult, opts);
  const models = opts.models.split(',').map((s) => s.trim());
  const peer = checkPython(opts.python);
  if (peer.skipped) log(peer.skipped);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-savedmodel-'));
  const sm = Worker.start('savedmodel');
  const ort = Worker.start('onnxruntime');
  const parity = readParity();
  const result: SmResult = {
    date: new Date().toISOString(),
    machine: machineLine(),
    command: `node dist/scripts/bench-savedmodel.js ${process.argv.slice(2).join(' ')}`.trim(),
    engines: {},
    peer: peer.skipped ?? `onnxruntime-node (ONNX export by scripts/bench/export_onnx.py; ${Object.entries(peer.versions).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    groups: [],
  };
  try {
    for (const model of models) {
      const r = model === 'vit-b' ? opts.bR : opts.tinyR;
      const files = await prepare(model, r, opts, peer, tmp, log);
      log(`${model}: loading`);
      result.engines.savedmodel = await sm.ask<string>({ cmd: 'load', files: [files.original, files.turbo, files.portable, files.unfused, files.turboUnfused] });
      const entries: Entry[] = [
        { key: 'savedmodel', label: 'SavedModel, unmerged', worker: sm, index: 0, r: 0, alpha: 0 },
        { key: 'turbo', label: `Turbo SavedModel r=${r}`, worker: sm, index: 1, r, alpha: opts.alpha },
        { key: 'portable', label: `Turbo SavedModel r=${r}, --portable (standard ops)`, worker: sm, index: 2, r, alpha: opts.alpha },
        { key: 'unfused', label: 'SavedModel, unmerged, unfused (fuse: false)', worker: sm, index: 3, r: 0, alpha: 0 },
        { key: 'turbo-unfused', label: `Turbo SavedModel r=${r}, unfused (fuse: false)`, worker: sm, index: 4, r, alpha: opts.alpha },
      ];
      if (files.onnx) {
        result.engines.onnxruntime = await ort.ask<string>({ cmd: 'load', files: [files.onnx] });
        entries.push({ key: 'onnx', label: 'onnxruntime-node', worker: ort, index: 0, r: 0, alpha: 0 });
      }
      const batches = (model === 'vit-b' ? opts.bBatches : opts.tinyBatches).split(',').map(Number);
      for (const batch of batches) {
        const rounds = model === 'vit-b' ? opts.roundsB : opts.rounds;
        const cells = await measureGroup(model, batch, rounds, opts.warmup, entries, parity, log);
        result.groups.push({ model, batch, rounds, turbo: { r, alpha: opts.alpha, tokensAfterBlock: files.tokensAfterBlock, flopRatio: files.flopRatio }, cells });
      }
      await sm.ask({ cmd: 'unload' });
      await ort.ask({ cmd: 'unload' });
    }
  } finally {
    sm.stop();
    ort.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.mkdirSync(path.dirname(opts.json), { recursive: true });
  fs.writeFileSync(opts.json, JSON.stringify(result, null, 1) + '\n');
  log(`wrote ${opts.json}`);
  render(result, opts);
}

/** Targets from issue 11, as ratios of images/s. */
const TARGETS: { what: string; model: string; batches: number[]; num: Cell['key']; den: Cell['key']; min: number }[] = [
  { what: 'unmerged SavedModel vs onnxruntime', model: 'vit-tiny', batches: [1, 8], num: 'savedmodel', den: 'onnx', min: 0.9 },
  { what: 'unmerged SavedModel vs onnxruntime', model: 'vit-b', batches: [1], num: 'savedmodel', den: 'onnx', min: 0.9 },
  { what: 'Turbo SavedModel vs unmerged SavedModel', model: 'vit-tiny', batches: [1, 8], num: 'turbo', den: 'savedmodel', min: 1.5 },
  { what: 'Turbo SavedModel vs onnxruntime', model: 'vit-tiny', batches: [1, 8], num: 'turbo', den: 'onnx', min: 1.4 },
  { what: 'Turbo SavedModel vs onnxruntime', model: 'vit-b', batches: [1], num: 'turbo', den: 'onnx', min: 1.8 },
];

function render(r: SmResult, opts: Opts): void {
  const lines: string[] = [];
  lines.push('## SavedModels vs onnxruntime-node (1 thread)', '');
  lines.push(`Generated by \`${r.command}\` on ${r.date.slice(0, 10)}; ${r.machine}.`, '');
  lines.push(`- SavedModel: ${r.engines.savedmodel ?? 'not run'}; written by \`convert-with-turbo --format savedmodel\`'s writer (every weight a Const, one session run per call; LayerNorm, dense + GELU and q/k/v rewritten for TensorFlow's fused kernels unless marked fuse: false, docs/SAVEDMODEL.md).`);
  lines.push(`- Peer: ${r.engines.onnxruntime ?? 'not run'}; ${r.peer}.`);
  lines.push('- Method: one interleaved run; each engine is its own process; one network at a time, round-robin over (engine, network), the first rotating each round, after warm-up runs; medians of wall-clock ms per run; inputs are the 8 parity images (batch 1 = the first), logits read back every run.', '');
  lines.push('| model | batch | network | ms / run | CPU ms / run | images/s | vs unmerged SavedModel | vs onnxruntime | max abs diff vs official |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const g of r.groups) {
    const by = (k: Cell['key']) => g.cells.find((c) => c.key === k);
    for (const c of g.cells) {
      const ratio = (k: Cell['key']) => {
        const d = by(k);
        return d && d !== c ? `${(c.imagesPerSec / d.imagesPerSec).toFixed(2)}x` : '';
      };
      const parity = c.parity === undefined ? '' : c.parity.toExponential(1);
      lines.push(`| ${MODELS[g.model]?.short ?? g.model} | ${g.batch} | ${c.label} | ${c.wallMs.toFixed(1)} | ${c.cpuMs.toFixed(1)} | ${c.imagesPerSec.toFixed(1)} | ${ratio('savedmodel')} | ${ratio('onnx')} | ${parity} |`);
    }
  }
  lines.push('');
  for (const g of r.groups.filter((x, i, all) => all.findIndex((y) => y.model === x.model) === i)) {
    lines.push(`Turbo ${g.model}: r = ${g.turbo.r}, alpha = ${g.turbo.alpha}; tokens after each block ${g.turbo.tokensAfterBlock.join(' ')}; estimated FLOP ratio ${g.turbo.flopRatio.toFixed(2)}x.`);
  }
  for (const g of r.groups) {
    const op = g.cells.find((c) => c.key === 'turbo');
    const std = g.cells.find((c) => c.key === 'portable');
    if (op && std) lines.push(`Custom TurboMerge op vs the standard-op lowering (--portable), ${g.model} b${g.batch}: ${(op.imagesPerSec / std.imagesPerSec).toFixed(2)}x (wall), ${(std.cpuMs / op.cpuMs).toFixed(2)}x (CPU).`);
  }
  for (const g of r.groups) {
    const pair = (fused: Cell['key'], plain: Cell['key']) => {
      const f = g.cells.find((c) => c.key === fused);
      const p = g.cells.find((c) => c.key === plain);
      return f && p ? `${(f.imagesPerSec / p.imagesPerSec).toFixed(2)}x (CPU ${(p.cpuMs / f.cpuMs).toFixed(2)}x)` : undefined;
    };
    const unmerged = pair('savedmodel', 'unfused');
    const turbo = pair('turbo', 'turbo-unfused');
    if (unmerged || turbo) lines.push(`Writer's fused LayerNorm / GELU / q-k-v (default) vs fuse: false, ${g.model} b${g.batch}: unmerged ${unmerged ?? 'not measured'}, Turbo ${turbo ?? 'not measured'}.`);
  }
  lines.push('', 'Ratios are of wall-clock medians; the CPU-time ratio (each engine runs on 1 thread, so CPU time is its compute, whatever else the shared machine runs) is beside it.', '');
  lines.push('| target (issue 11) | batch | measured (wall) | measured (CPU) | reached (wall) |', '| --- | --- | --- | --- | --- |');
  for (const t of TARGETS) {
    for (const batch of t.batches) {
      const g = r.groups.find((x) => x.model === t.model && x.batch === batch);
      const num = g?.cells.find((c) => c.key === t.num);
      const den = g?.cells.find((c) => c.key === t.den);
      const v = num && den ? num.imagesPerSec / den.imagesPerSec : undefined;
      const cpu = num && den ? den.cpuMs / num.cpuMs : undefined;
      lines.push(`| ${t.model} ${t.what} ≥ ${t.min}x | ${batch} | ${v === undefined ? 'not measured' : `${v.toFixed(2)}x`} | ${cpu === undefined ? '' : `${cpu.toFixed(2)}x`} | ${v === undefined ? '' : v >= t.min ? 'yes' : '**no**'} |`);
    }
  }
  replaceSection(opts.md, 'bench-savedmodel', lines.join('\n'));
  console.error(`updated ${opts.md}`);
}

export const program = new Command('bench-savedmodel')
  .description('Unmerged and Turbo SavedModels (TensorFlow via tfjs-node) vs onnxruntime-node, 1 thread, one interleaved run.')
  .option('--models <list>', 'vit-tiny, vit-b', 'vit-tiny,vit-b')
  .option('--tiny-batches <list>', 'batches for ViT-Tiny', '1,8')
  .option('--b-batches <list>', 'batches for ViT-B', '1')
  .option('--tiny-r <n>', 'r of the Turbo ViT-Tiny', (s) => Number(s), 13)
  .option('--b-r <n>', 'r of the Turbo ViT-B', (s) => Number(s), 16)
  .option('--alpha <n>', 'alpha of the Turbo models', (s) => Number(s), 1)
  .option('--rounds <n>', 'timed rounds for ViT-Tiny', (s) => Number(s), 40)
  .option('--rounds-b <n>', 'timed rounds for ViT-B', (s) => Number(s), 12)
  .option('--warmup <n>', 'untimed runs of each network first (the first session run optimizes the graph)', (s) => Number(s), 3)
  .option('--python <cmd>', 'Python 3 with onnx, safetensors, numpy (for the ONNX export)', process.env.PYTHON ?? 'python3')
  .option('--shared <dir>', 'the shared/ directory (ViT-Tiny safetensors for the ONNX export)', path.resolve(ROOT, '..', 'shared'))
  .option('--onnx-cache <dir>', 'where exported .onnx files are kept (git-ignored)', path.join(ROOT, '.cache', 'onnx'))
  .option('--json <file>', 'results file', path.join(ROOT, 'docs', 'bench', 'savedmodel.json'))
  .option('--md <file>', 'markdown file with the generated section', path.join(ROOT, 'docs', 'BENCHMARKS.md'))
  .option('--from-json <file>', 'measure nothing: re-render the markdown section from a results file')
  .action(main);

if (require.main === module) runProgram(program, process.argv.slice(2)).then((c) => (process.exitCode = c));
