#!/usr/bin/env node
// What a user gets from loadTurboModel on the tensorflow backend: its default route (the model as
// one TensorFlow graph, src/runtime/session/) against op by op and against onnxruntime-node running
// the unmerged network, one interleaved run per thread count. Writes docs/bench/route.json and the
// 'bench-route' section of docs/BENCHMARKS.md.
//
//   npm run setup:native && npx tsc -p tsconfig.json && node dist/scripts/bench-route.js --python PYTHON_WITH_ONNX
//
// Engines are worker processes (bench/route/worker.ts): TensorFlow reads its thread counts and
// TF_ENABLE_ONEDNN_OPTS once, when it loads. 'session' runs with the environment the library sets
// itself (src/runtime/backend.ts); 'session, oneDNN' / 'session, Eigen' pin TF_ENABLE_ONEDNN_OPTS to
// 1 / 0 to price that choice in the same run. One network at a time, round-robin over every
// (engine, network), the first rotating each round (src/runtime/timing.ts's interleave).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { rewriteGraph } from '../src/convert';
import { readGraphModel, writeGraphModel } from '../src/graph/model_io';
import { runProgram } from '../src/cli/run';
import { packageRoot } from '../src/paths';
import { interleave, median } from '../src/runtime/timing';
import { estimateFlopRatio } from '../src/turbo/schedule';
import { maxAbsDiff, officialLogits, readParity } from './bench/inputs';
import { gitState, machineLine } from './bench/machine';
import { MODELS, modelOnDisk } from './bench/models';
import { checkPython, exportOnnx } from './bench/onnx';
import type { RouteEngine, RouteRequest } from './bench/route/worker';
import { BenchWorker } from './bench/worker_process';
import { replaceSection } from './markdown';

const ROOT = packageRoot();

interface EngineSpec {
  key: string;
  label: string;
  route: RouteEngine;
  /** TF_ENABLE_ONEDNN_OPTS for the process; undefined: whatever the library sets. */
  onednn?: '0' | '1';
  /** TF_XLA_FLAGS for the process (XLA's CPU JIT clusters what lies between the Turbo ops). */
  xla?: string;
}

const ENGINES: Record<string, EngineSpec> = {
  session: { key: 'session', label: 'loadTurboModel default (session)', route: 'session' },
  'session-onednn': { key: 'session-onednn', label: 'session, oneDNN (TF_ENABLE_ONEDNN_OPTS=1)', route: 'session', onednn: '1' },
  'session-eigen': { key: 'session-eigen', label: 'session, Eigen (TF_ENABLE_ONEDNN_OPTS=0)', route: 'session', onednn: '0' },
  'session-xla': { key: 'session-xla', label: 'session, XLA CPU auto-jit', route: 'session', xla: '--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit' },
  'op-by-op': { key: 'op-by-op', label: "route: 'op-by-op'", route: 'op-by-op' },
  'op-by-op-eigen': { key: 'op-by-op-eigen', label: "route: 'op-by-op', Eigen (TF_ENABLE_ONEDNN_OPTS=0)", route: 'op-by-op', onednn: '0' },
  onnxruntime: { key: 'onnxruntime', label: 'onnxruntime-node', route: 'onnxruntime' },
};

interface Cell {
  engine: string;
  label: string;
  turbo: boolean;
  wallMs: number;
  cpuMs: number;
  imagesPerSec: number;
  parity?: number;
}

interface Group {
  threads: number;
  model: string;
  batch: number;
  rounds: number;
  load: [number, number];
  cells: Cell[];
}

interface RouteResult {
  date: string;
  machine: string;
  code: string;
  command: string;
  engines: Record<string, string>;
  peer: string;
  turbo: Record<string, { r: number; alpha: number; tokensAfterBlock: number[]; flopRatio: number }>;
  groups: Group[];
}

interface Opts {
  models: string;
  tinyBatches: string;
  bBatches: string;
  threads: string;
  engines: string;
  tinyR: number;
  bR: number;
  alpha: number;
  rounds: number;
  roundsB: number;
  roundsB8: number;
  warmup: number;
  python: string;
  shared: string;
  onnxCache: string;
  json: string;
  md: string;
  section: string;
  fromJson?: string;
}

type Worker = BenchWorker<RouteRequest, RouteEngine>;

function startWorker(spec: EngineSpec, threads: number): Worker {
  const env: NodeJS.ProcessEnv = { TF_CPP_MIN_LOG_LEVEL: '2', TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: '1' };
  if (spec.onednn) env.TF_ENABLE_ONEDNN_OPTS = spec.onednn;
  if (spec.xla) env.TF_XLA_FLAGS = spec.xla;
  return BenchWorker.start<RouteRequest, RouteEngine>(path.join(__dirname, 'bench', 'route', 'worker.js'), spec.route, env);
}

async function main(opts: Opts): Promise<void> {
  const log = (s: string) => console.error(s);
  if (opts.fromJson) return render(JSON.parse(fs.readFileSync(opts.fromJson, 'utf8')) as RouteResult, opts);
  // 'session' must see the library's own choice, not one inherited from this shell.
  delete process.env.TF_ENABLE_ONEDNN_OPTS;
  delete process.env.TF_XLA_FLAGS;
  const peer = checkPython(opts.python);
  if (peer.skipped) log(peer.skipped);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-route-'));
  const parity = readParity();
  const result: RouteResult = {
    date: new Date().toISOString(),
    machine: machineLine(),
    code: gitState(),
    command: `node dist/scripts/bench-route.js ${process.argv.slice(2).join(' ')}`.trim(),
    engines: {},
    peer: peer.skipped ?? `onnxruntime-node, graphOptimizationLevel 'all' (ONNX export by scripts/bench/export_onnx.py; ${Object.entries(peer.versions).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    turbo: {},
    groups: [],
  };
  const specs = opts.engines.split(',').map((e) => {
    const s = ENGINES[e.trim()];
    if (!s) throw new Error(`--engines: unknown engine '${e}' (${Object.keys(ENGINES).join(', ')})`);
    return s;
  });
  try {
    const files: Record<string, { unmerged: string; turbo: string; onnx: string | null }> = {};
    for (const model of opts.models.split(',').map((s) => s.trim())) {
      const r = model === 'vit-b' ? opts.bR : opts.tinyR;
      const { graphDir, checkpoint } = await modelOnDisk(model, opts.shared, tmp, log);
      const graph = await readGraphModel(graphDir);
      const summary = rewriteGraph(graph, { r, alpha: opts.alpha, beta: 1, gamma: 0, rThreshold: 0, propAttn: true });
      const turboDir = path.join(tmp, `${model}-turbo-r${r}`);
      await writeGraphModel(graph, turboDir);
      const { plan } = summary;
      result.turbo[model] = { r, alpha: opts.alpha, tokensAfterBlock: plan.tokensAfterBlock, flopRatio: plan.dims ? estimateFlopRatio(plan.tokenCount, plan.tokensAfterBlock, plan.dims) : NaN };
      files[model] = { unmerged: graphDir, turbo: turboDir, onnx: peer.skipped ? null : exportOnnx(peer, checkpoint, opts.onnxCache, MODELS[model].onnxName, log) };
    }
    for (const threads of opts.threads.split(',').map(Number)) {
      const workers = specs.map((s) => ({ spec: s, worker: startWorker(s, threads) }));
      try {
        for (const [model, f] of Object.entries(files)) {
          const entries: { spec: EngineSpec; worker: Worker; index: number; turbo: boolean }[] = [];
          for (const { spec, worker } of workers) {
            if (spec.route === 'onnxruntime') {
              if (!f.onnx) continue;
              result.engines[spec.key] = await worker.ask<string>({ cmd: 'load', files: [f.onnx], threads });
              entries.push({ spec, worker, index: 0, turbo: false });
            } else {
              result.engines[spec.key] = await worker.ask<string>({ cmd: 'load', files: [f.unmerged, f.turbo], threads });
              entries.push({ spec, worker, index: 0, turbo: false }, { spec, worker, index: 1, turbo: true });
            }
          }
          for (const batch of (model === 'vit-b' ? opts.bBatches : opts.tinyBatches).split(',').map(Number)) {
            const rounds = model === 'vit-b' ? (batch > 1 ? opts.roundsB8 : opts.roundsB) : opts.rounds;
            const load0 = os.loadavg()[0];
            const { warm, times } = await interleave(
              entries.map((e) => ({
                label: `${e.spec.key}${e.turbo ? ' turbo' : ''}`,
                run: async ({ round, warmup }: { round: number; warmup: boolean }) => {
                  const t = await e.worker.ask<{ wallMs: number; cpuMs: number; output?: number[] }>({ cmd: 'run', variant: e.index, batch, keepOutput: warmup && round === 0 });
                  return { wallMs: t.wallMs, cpuMs: t.cpuMs, value: t.output };
                },
              })),
              { rounds, warmup: Math.max(1, opts.warmup) },
            );
            const turbo = result.turbo[model];
            const cells = entries.map((e, i): Cell => {
              const wallMs = median(times[i].wall);
              const official = model === 'vit-tiny' ? officialLogits(parity, e.turbo ? turbo.r : 0, e.turbo ? turbo.alpha : 0, batch) : undefined;
              const out = warm[i];
              return {
                engine: e.spec.key,
                label: e.spec.label,
                turbo: e.turbo,
                wallMs,
                cpuMs: median(times[i].cpu),
                imagesPerSec: (1000 * batch) / wallMs,
                ...(official && out ? { parity: maxAbsDiff(official, out) } : {}),
              };
            });
            result.groups.push({ threads, model, batch, rounds, load: [load0, os.loadavg()[0]], cells });
            log(`${threads} thread(s), ${model} b${batch}: ${cells.map((c) => `${c.engine}${c.turbo ? ' turbo' : ''} ${c.wallMs.toFixed(1)}`).join(', ')}`);
          }
          for (const { worker } of workers) await worker.ask({ cmd: 'unload' });
        }
      } finally {
        for (const { worker } of workers) worker.stop();
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.mkdirSync(path.dirname(opts.json), { recursive: true });
  fs.writeFileSync(opts.json, JSON.stringify(result, null, 1) + '\n');
  log(`wrote ${opts.json}`);
  render(result, opts);
}

/** Issue 21's targets: Turbo through the default route vs unmerged onnxruntime, 1 thread. */
const TARGETS = [
  { model: 'vit-tiny', batch: 1, min: 1.4 },
  { model: 'vit-tiny', batch: 8, min: 1.7 },
  { model: 'vit-b', batch: 1, min: 1.9 },
];

function render(r: RouteResult, opts: Opts): void {
  const x = (v: number) => `${v.toFixed(2)}x`;
  const threads = [...new Set(r.groups.map((g) => g.threads))].join(' and ');
  const lines: string[] = [`## loadTurboModel on tensorflow: session route vs op by op vs onnxruntime-node (${threads} thread${threads === '1' ? '' : 's'}, ${r.date.slice(0, 16).replace('T', ' ')} UTC)`, ''];
  lines.push(`Generated by \`${r.command}\` on ${r.date.slice(0, 10)}; ${r.machine}; code: ${r.code}.`, '');
  for (const [k, v] of Object.entries(r.engines)) lines.push(`- ${ENGINES[k]?.label ?? k}: ${v}`);
  lines.push(`- Peer: ${r.peer}; it runs the unmerged network (a Turbo graph cannot be handed to it: see below).`);
  lines.push('- Threads: TF_NUM_INTRAOP_THREADS = n, TF_NUM_INTEROP_THREADS = 1; onnxruntime intraOpNumThreads = n, sequential.');
  lines.push('- Method: every engine its own process; one network at a time, round-robin over (engine, network), the first rotating each round, after warm-up runs; medians of wall-clock ms per run; inputs the 8 parity images (batch 1 = the first), logits read back every run. Load average: 1-minute, at the start and end of each group.', '');
  for (const [model, t] of Object.entries(r.turbo)) {
    lines.push(`Turbo ${model}: r = ${t.r}, alpha = ${t.alpha}; tokens after each block ${t.tokensAfterBlock.join(' ')}; FLOP ratio ${t.flopRatio.toFixed(2)}.`);
  }
  lines.push('', '| threads | model | batch | engine | network | ms / run | CPU ms / run | images/s | vs onnxruntime (unmerged) | Turbo speed-up (same engine) | max abs diff vs official | load |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const g of r.groups) {
    const ort = g.cells.find((c) => c.engine === 'onnxruntime');
    for (const c of g.cells) {
      const base = g.cells.find((d) => d.engine === c.engine && !d.turbo);
      const vsOrt = ort && c !== ort ? x(c.imagesPerSec / ort.imagesPerSec) : '';
      const speedup = c.turbo && base ? x(base.wallMs / c.wallMs) : '';
      const parity = c.parity === undefined ? '' : c.parity.toExponential(1);
      lines.push(`| ${g.threads} | ${g.model} | ${g.batch} | ${c.label} | ${c.turbo ? 'Turbo' : 'unmerged'} | ${c.wallMs.toFixed(1)} | ${c.cpuMs.toFixed(1)} | ${c.imagesPerSec.toFixed(1)} | ${vsOrt} | ${speedup} | ${parity} | ${g.load.map((l) => l.toFixed(1)).join(', ')} |`);
    }
  }
  // The targets are 1-thread figures: a run without a 1-thread group has no row to show for them.
  const targets = r.groups.some((g) => g.threads === 1) ? TARGETS : [];
  if (targets.length) lines.push('', '| target (issue 21, 1 thread) | measured (wall) | measured (CPU) | reached |', '| --- | --- | --- | --- |');
  for (const t of targets) {
    const g = r.groups.find((y) => y.threads === 1 && y.model === t.model && y.batch === t.batch);
    const turbo = g?.cells.find((c) => c.engine === 'session' && c.turbo);
    const ort = g?.cells.find((c) => c.engine === 'onnxruntime');
    const what = `${t.model} Turbo r = ${r.turbo[t.model]?.r ?? '?'}, default route, b${t.batch} ≥ ${t.min}x onnxruntime`;
    if (!turbo || !ort) {
      lines.push(`| ${what} | not measured | | |`);
      continue;
    }
    const v = turbo.imagesPerSec / ort.imagesPerSec;
    lines.push(`| ${what} | ${x(v)} | ${x(ort.cpuMs / turbo.cpuMs)} | ${v >= t.min ? 'yes' : `**no** (${(100 * (1 - v / t.min)).toFixed(0)} % short)`} |`);
  }
  replaceSection(opts.md, opts.section, lines.join('\n'));
  console.error(`updated ${opts.md}`);
}

export const program = new Command('bench-route')
  .description("loadTurboModel's default (session) route vs op by op vs onnxruntime-node, one interleaved run per thread count.")
  .option('--models <list>', 'vit-tiny, vit-b', 'vit-tiny,vit-b')
  .option('--tiny-batches <list>', 'batches for ViT-Tiny', '1,8')
  .option('--b-batches <list>', 'batches for ViT-B', '1,8')
  .option('--threads <list>', 'thread counts, one interleaved run each', '1,2')
  .option('--engines <list>', Object.keys(ENGINES).join(', '), 'session,session-onednn,op-by-op,onnxruntime')
  .option('--tiny-r <n>', 'r of the Turbo ViT-Tiny', (s) => Number(s), 13)
  .option('--b-r <n>', 'r of the Turbo ViT-B', (s) => Number(s), 16)
  .option('--alpha <n>', 'alpha of the Turbo models', (s) => Number(s), 1)
  .option('--rounds <n>', 'timed rounds for ViT-Tiny', (s) => Number(s), 30)
  .option('--rounds-b <n>', 'timed rounds for ViT-B batch 1', (s) => Number(s), 10)
  .option('--rounds-b8 <n>', 'timed rounds for ViT-B batch 8', (s) => Number(s), 4)
  .option('--warmup <n>', 'untimed runs of each network first', (s) => Number(s), 2)
  .option('--python <cmd>', 'Python 3 with onnx, safetensors, numpy (for the ONNX export)', process.env.PYTHON ?? 'python3')
  .option('--shared <dir>', 'the shared/ directory (ViT-Tiny safetensors for the ONNX export)', path.resolve(ROOT, '..', 'shared'))
  .option('--onnx-cache <dir>', 'where exported .onnx files are kept (git-ignored)', path.join(ROOT, '.cache', 'onnx'))
  .option('--json <file>', 'results file', path.join(ROOT, 'docs', 'bench', 'route.json'))
  .option('--md <file>', 'markdown file with the generated section', path.join(ROOT, 'docs', 'BENCHMARKS.md'))
  .option('--section <name>', 'name of the generated markdown section', 'bench-route')
  .option('--from-json <file>', 'measure nothing: re-render the markdown section from a results file')
  .action(main);

if (require.main === module) runProgram(program, process.argv.slice(2)).then((c) => (process.exitCode = c));
