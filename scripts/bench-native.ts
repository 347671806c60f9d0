#!/usr/bin/env node
// The native TensorFlow backend against its peers, one run: images/s of ViT-Tiny and ViT-B/16 on
// tfjs-node (1 thread and default threads), tfjs-wasm and onnxruntime-node (1 thread and default
// threads) at batch 1 and 8; the Turbo speed-up at r = 8/13/16 on tfjs-node; a profile of where the
// Turbo graph's time goes on tfjs-node. Writes docs/bench/native.json and the 'bench-native'
// section of docs/BENCHMARKS.md.
//
//   npm run setup:native && npx tsc -p tsconfig.json && node dist/scripts/bench-native.js --python .venv/bin/python
//
// Why not a mode of scripts/bench.ts: TensorFlow fixes its thread pools when the backend starts, so
// 1 thread and default threads need separate processes. Here every engine is a worker process
// (bench/native/worker.ts) holding its graphs; this parent interleaves them round-robin, one run at
// a time (the starting runner rotates every round), so drift on the shared machine hits every
// engine alike (src/runtime/timing.ts's interleave, timed in the workers). It reuses bench's runners,
// ONNX export, Turbo rewrite and profiler (scripts/bench/).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { runProgram } from '../src/cli/run';
import { packageRoot } from '../src/paths';
import { ParityResult, maxAbsDiff, officialLogits, readParity } from './bench/inputs';
import { gitState, machineLine } from './bench/machine';
import { MODELS, modelOnDisk } from './bench/models';
import { PeerSetup, checkPython, exportOnnx } from './bench/onnx';
import { ENGINES, Engine, LoadReply, ProfileReply, Request, RunReply, VariantSpec } from './bench/native/protocol';
import { Group, MERGE_TITLES, NativeResult, renderNative } from './bench/native/render';
import { round2 } from './bench/results';
import { interleave, median } from '../src/runtime/timing';
import { BenchWorker } from './bench/worker_process';
import { replaceSection } from './markdown';

const ROOT = packageRoot();
const TOLERANCE = 2e-3;

// ---------------------------------------------------------------------------------------------
// Workers

type Worker = BenchWorker<Request, Engine>;
const Worker = {
  start(engine: Engine): Worker {
    const env: NodeJS.ProcessEnv = { TF_CPP_MIN_LOG_LEVEL: '2' };
    if (engine === 'tensorflow-1t') Object.assign(env, { TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' });
    return BenchWorker.start<Request, Engine>(path.join(__dirname, 'bench', 'native', 'worker.js'), engine, env);
  },
};

// ---------------------------------------------------------------------------------------------

interface Opts {
  models: string;
  batches: string;
  engines: string;
  turboR: string;
  alpha: number;
  rounds: number;
  roundsB: number;
  profile: string;
  profileR: number;
  profileRuns: number;
  python: string;
  shared: string;
  onnxCache: string;
  json: string;
  md: string;
  fromJson?: string;
}

function nativeInstalled(): boolean {
  for (const pkg of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      // absent
    }
  }
  return false;
}

async function prepareModels(models: string[], peer: PeerSetup, opts: Opts, tmp: string, log: (s: string) => void) {
  const out: Record<string, { graphDir: string; onnx: string | null }> = {};
  for (const m of models) {
    const { graphDir, checkpoint } = await modelOnDisk(m, opts.shared, tmp, log);
    out[m] = { graphDir, onnx: peer.skipped ? null : exportOnnx(peer, checkpoint, opts.onnxCache, MODELS[m].onnxName, log) };
  }
  return out;
}

async function main(opts: Opts): Promise<void> {
  const log = (s: string) => console.error(s);
  if (opts.fromJson) return render(JSON.parse(fs.readFileSync(opts.fromJson, 'utf8')) as NativeResult, opts);
  if (!nativeInstalled()) throw new Error('tfjs-node is not installed: run `npm run setup:native` first');
  const models = opts.models.split(',').map((s) => s.trim());
  const batches = opts.batches.split(',').map(Number);
  const turboR = opts.turboR.split(',').map(Number);
  let engines = opts.engines.split(',').map((s) => s.trim()) as Engine[];
  for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`--engines: unknown engine '${e}' (${ENGINES.join(', ')})`);
  const profileSet = new Set(opts.profile === 'none' ? [] : opts.profile.split(','));

  const peer = engines.some((e) => e.startsWith('onnxruntime')) ? checkPython(opts.python) : { python: null, versions: {}, skipped: 'not asked for' };
  if (peer.skipped) {
    log(peer.skipped);
    engines = engines.filter((e) => !e.startsWith('onnxruntime'));
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-native-'));
  const workers = engines.map((e) => Worker.start(e));
  const parity = readParity();
  const result: NativeResult = {
    date: new Date().toISOString(),
    machine: machineLine(),
    command: `node dist/scripts/bench-native.js ${process.argv.slice(2).join(' ')}`.trim(),
    code: gitState(),
    turboMerge: '?',
    engines: {},
    peer: peer.skipped ?? `onnxruntime-node (ONNX export by scripts/bench/export_onnx.py; ${Object.entries(peer.versions).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    groups: [],
    profiles: [],
  };
  try {
    const dirs = await prepareModels(models, peer, opts, tmp, log);
    for (const model of models) {
      const variantsFor = (e: Engine): VariantSpec[] =>
        e.startsWith('tensorflow') ? [{ r: 0, alpha: 0 }, ...turboR.map((r) => ({ r, alpha: opts.alpha }))] : [{ r: 0, alpha: 0 }];
      const loaded: Record<string, LoadReply['variants']> = {};
      const active: Worker[] = [];
      for (const w of workers) {
        if (w.engine.startsWith('onnxruntime') && !dirs[model].onnx) continue;
        log(`${model}: loading on ${w.engine}`);
        const reply = await w.ask<LoadReply>({ cmd: 'load', model, graphDir: dirs[model].graphDir, onnx: dirs[model].onnx, variants: variantsFor(w.engine) });
        result.engines[w.engine] = reply.engine;
        if (w.engine === 'tensorflow-1t' && reply.merge) result.turboMerge = MERGE_TITLES[reply.merge];
        loaded[w.engine] = reply.variants;
        active.push(w);
      }
      for (const batch of batches) {
        const rounds = model === 'vit-b' ? opts.roundsB : opts.rounds;
        result.groups.push(await measureGroup(model, batch, rounds, active, loaded, parity));
        for (const w of active) {
          if (w.engine !== 'tensorflow-1t' || !profileSet.has(`${model}:${batch}`)) continue;
          const i = loaded[w.engine].findIndex((v) => v.r === opts.profileR);
          if (i < 0) throw new Error(`--profile-r ${opts.profileR} is not in --turbo-r`);
          for (const [graph, variant] of [['original', 0], ['turbo', i]] as const) {
            log(`${model} b${batch}: profiling the ${graph} graph on tensorflow (1 thread)`);
            const p = await w.ask<ProfileReply>({ cmd: 'profile', variant, batch, runs: opts.profileRuns });
            result.profiles.push({ model, batch, r: graph === 'turbo' ? opts.profileR : 0, alpha: graph === 'turbo' ? opts.alpha : 0, graph, ...p });
          }
        }
      }
      for (const w of active) await w.ask({ cmd: 'unload' });
    }
  } finally {
    for (const w of workers) w.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  fs.mkdirSync(path.dirname(opts.json), { recursive: true });
  fs.writeFileSync(opts.json, JSON.stringify(result, null, 1) + '\n');
  log(`wrote ${opts.json}`);
  render(result, opts);
}

function render(r: NativeResult, opts: Opts): void {
  replaceSection(opts.md, 'bench-native', renderNative(r, opts.alpha));
  console.error(`updated the bench-native section of ${opts.md}`);
}

async function measureGroup(model: string, batch: number, rounds: number, workers: Worker[], loaded: Record<string, LoadReply['variants']>, parity: ParityResult[]): Promise<Group> {
  const load0 = os.loadavg()[0];
  const runners = workers.flatMap((w) => loaded[w.engine].map((v, variant) => ({ w, variant, v })));
  const bar = new SingleBar({ format: `${model} batch ${batch} [{bar}] {value}/{total} runs`, stream: process.stderr }, Presets.shades_classic);
  bar.start(runners.length * (rounds + 1), 0);
  let timed;
  try {
    // The workers time each run; the first (warm-up) run of each keeps ViT-Tiny's logits to check.
    timed = await interleave(
      runners.map((rn) => ({
        label: rn.w.engine,
        run: async ({ warmup }: { warmup: boolean }) => {
          const keepOutput = warmup && model === 'vit-tiny';
          const t = await rn.w.ask<RunReply>({ cmd: 'run', variant: rn.variant, batch, keepOutput });
          return { wallMs: t.wallMs, cpuMs: t.cpuMs, value: t.output };
        },
      })),
      { rounds, onRun: () => bar.increment() },
    );
  } finally {
    bar.stop();
  }
  const { warm, times } = timed;
  const cells = runners.map((rn, i) => {
    const wallMs = median(times[i].wall);
    const ref = model === 'vit-tiny' ? officialLogits(parity, rn.v.r, rn.v.alpha, batch) : undefined;
    const out = warm[i];
    const d = ref && out ? maxAbsDiff(out, ref) : undefined;
    if (d !== undefined && d > TOLERANCE) throw new Error(`${rn.w.engine} ${model} r=${rn.v.r}: logits differ from the official ones by ${d}`);
    return { engine: rn.w.engine, r: rn.v.r, alpha: rn.v.alpha, wallMs, cpuMs: median(times[i].cpu), imagesPerSec: (1000 * batch) / wallMs, ...(d !== undefined ? { parity: d } : {}) };
  });
  return { model, batch, rounds, load: [round2(load0), round2(os.loadavg()[0])], cells, variants: loaded };
}

export const program = new Command('bench-native')
  .description('tfjs-node (1 thread, default threads) vs tfjs-wasm vs onnxruntime-node; Turbo speed-ups and a profile on tfjs-node')
  .option('--models <list>', 'vit-tiny,vit-b', 'vit-tiny,vit-b')
  .option('--batches <list>', 'batch sizes', '1,8')
  .option('--engines <list>', `engines (${ENGINES.join(', ')})`, ENGINES.join(','))
  .option('--turbo-r <list>', 'r of the Turbo graphs timed on tfjs-node', '8,13,16')
  .option('--alpha <n>', 'alpha of the Turbo graphs (token counts, so timings, do not depend on it)', (s) => Number(s), 5)
  .option('--rounds <n>', 'timed rounds for ViT-Tiny', (s) => Number(s), 10)
  .option('--rounds-b <n>', 'timed rounds for ViT-B', (s) => Number(s), 5)
  .option('--profile <list>', 'MODEL:BATCH pairs profiled on tfjs-node (1 thread), or none', 'vit-tiny:1,vit-tiny:8,vit-b:1')
  .option('--profile-r <n>', 'r of the profiled Turbo graph', (s) => Number(s), 13)
  .option('--profile-runs <n>', 'profiled runs per graph', (s) => Number(s), 3)
  .option('--python <cmd>', 'Python 3 with onnx, safetensors, numpy (for the ONNX export)', process.env.PYTHON ?? 'python3')
  .option('--shared <dir>', 'the shared/ directory (ViT-Tiny safetensors for the ONNX export)', path.resolve(ROOT, '..', 'shared'))
  .option('--onnx-cache <dir>', 'where exported .onnx files are kept (git-ignored)', path.join(ROOT, '.cache', 'onnx'))
  .option('--json <file>', 'results file', path.join(ROOT, 'docs', 'bench', 'native.json'))
  .option('--md <file>', 'markdown file with the generated section', path.join(ROOT, 'docs', 'BENCHMARKS.md'))
  .option('--from-json <file>', 'measure nothing: re-render the markdown section from a results file')
  .action(main);

if (require.main === module) runProgram(program, process.argv.slice(2)).then((c) => (process.exitCode = c));
