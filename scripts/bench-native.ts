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
// (bench_native/worker.ts) holding its graphs; this parent interleaves them round-robin, one run at
// a time (the starting runner rotates every round), so drift on the shared machine hits every
// engine alike. It reuses bench.ts's runners, ONNX export, Turbo rewrite and kernel categories.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { convertVitCheckpointTo } from '../converters/vit';
import { EMBEDDED_MODEL_DIR } from '../src/convert';
import { runProgram } from '../src/cli/run';
import { packageRoot } from '../src/paths';
import { checkPython, exportOnnx, gitState, officialLogits, PeerSetup, readParity } from './bench';
import { ENGINES, Engine, LoadReply, ProfileReply, Request, RunReply, VariantSpec } from './bench_native/protocol';
import { machineLine } from './machine';
import { replaceSection } from './markdown';
import { VIT_B16_224, writeRandomVit } from './random_vit';
import { median } from './stats';
import { BenchWorker } from './bench_worker';

const ROOT = packageRoot();
const TOLERANCE = 2e-3;

// ---------------------------------------------------------------------------------------------
// Workers

type Worker = BenchWorker<Request, Engine>;
const Worker = {
  start(engine: Engine): Worker {
    const env: NodeJS.ProcessEnv = { TF_CPP_MIN_LOG_LEVEL: '2' };
    if (engine === 'tensorflow-1t') Object.assign(env, { TF_NUM_INTRAOP_THREADS: '1', TF_NUM_INTEROP_THREADS: '1' });
    return BenchWorker.start<Request, Engine>(path.join(__dirname, 'bench_native', 'worker.js'), engine, env);
  },
};

// ---------------------------------------------------------------------------------------------
// Results

interface Cell {
  engine: Engine;
  r: number;
  alpha: number;
  /** Median ms per run over the rounds, wall clock and this engine's process CPU time. */
  wallMs: number;
  cpuMs: number;
  imagesPerSec: number;
  /** For ViT-Tiny where an official vector exists: max abs diff of the warm-up logits. */
  parity?: number;
}

interface Group {
  model: string;
  batch: number;
  rounds: number;
  /** 1-minute load average of the machine when the group started and ended (2 cores: above 2, runs waited for a core). */
  load: [number, number];
  cells: Cell[];
  variants: Record<string, LoadReply['variants']>;
}

interface NativeResult {
  date: string;
  machine: string;
  command: string;
  /** The code measured: commit and uncommitted changes (other sessions edit this tree too). */
  code: string;
  /** TurboMerge on tfjs-node: its native kernel (op library) or the composite of tfjs ops. */
  turboMerge: string;
  engines: Record<string, string>;
  peer: string;
  groups: Group[];
  profiles: ({ model: string; batch: number; r: number; alpha: number; graph: 'original' | 'turbo' } & ProfileReply)[];
}

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

const MODEL_TITLES: Record<string, string> = {
  'vit-tiny': 'ViT-Tiny/16-224 (real weights, embedded model)',
  'vit-b': 'ViT-B/16-224 (random weights, seed 0)',
};

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
    if (m === 'vit-tiny') {
      const ckpt = path.join(opts.shared, 'models', 'vit-tiny-patch16-224');
      out[m] = { graphDir: EMBEDDED_MODEL_DIR, onnx: peer.skipped ? null : exportOnnx(peer, ckpt, opts.onnxCache, 'vit-tiny-patch16-224', log) };
    } else if (m === 'vit-b') {
      log('writing the random ViT-B/16-224 checkpoint (seed 0) and converting it');
      const ckpt = path.join(tmp, 'vit-b-ckpt');
      fs.mkdirSync(ckpt);
      const { weights, config } = writeRandomVit(ckpt, VIT_B16_224, 0);
      const graphDir = path.join(tmp, 'vit-b-graph');
      await convertVitCheckpointTo(weights, config, graphDir);
      out[m] = { graphDir, onnx: peer.skipped ? null : exportOnnx(peer, ckpt, opts.onnxCache, 'vit-b16-224-random-seed0', log) };
    } else throw new Error(`--models: unknown model '${m}' (vit-tiny, vit-b)`);
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
    peer: peer.skipped ?? `onnxruntime-node (ONNX export by converters/python/export_onnx.py; ${Object.entries(peer.versions).map(([k, v]) => `${k} ${v}`).join(', ')})`,
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

async function measureGroup(
  model: string,
  batch: number,
  rounds: number,
  workers: Worker[],
  loaded: Record<string, LoadReply['variants']>,
  parity: ReturnType<typeof readParity>,
): Promise<Group> {
  const load0 = os.loadavg()[0];
  const runners = workers.flatMap((w) => loaded[w.engine].map((v, variant) => ({ w, variant, v })));
  const bar = new SingleBar({ format: `${model} batch ${batch} [{bar}] {value}/{total} runs`, stream: process.stderr }, Presets.shades_classic);
  bar.start(runners.length * (rounds + 1), 0);
  const wall = runners.map(() => [] as number[]);
  const cpu = runners.map(() => [] as number[]);
  const diffs: (number | undefined)[] = [];
  try {
    for (const rn of runners) {
      const reply = await rn.w.ask<RunReply>({ cmd: 'run', variant: rn.variant, batch, keepOutput: model === 'vit-tiny' });
      const ref = model === 'vit-tiny' ? officialLogits(parity, rn.v.r, rn.v.alpha, batch) : undefined;
      diffs.push(ref && reply.output ? maxAbsDiff(reply.output, ref) : undefined);
      bar.increment();
    }
    for (let round = 0; round < rounds; round++) {
      for (let j = 0; j < runners.length; j++) {
        const i = (round + j) % runners.length;
        const t = await runners[i].w.ask<RunReply>({ cmd: 'run', variant: runners[i].variant, batch, keepOutput: false });
        wall[i].push(t.wallMs);
        cpu[i].push(t.cpuMs);
        bar.increment();
      }
    }
  } finally {
    bar.stop();
  }
  const cells = runners.map((rn, i) => {
    const wallMs = median(wall[i]);
    const d = diffs[i];
    if (d !== undefined && d > TOLERANCE) throw new Error(`${rn.w.engine} ${model} r=${rn.v.r}: logits differ from the official ones by ${d}`);
    return { engine: rn.w.engine, r: rn.v.r, alpha: rn.v.alpha, wallMs, cpuMs: median(cpu[i]), imagesPerSec: (1000 * batch) / wallMs, ...(d !== undefined ? { parity: d } : {}) };
  });
  return { model, batch, rounds, load: [round2(load0), round2(os.loadavg()[0])], cells, variants: loaded };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// ---------------------------------------------------------------------------------------------
// Markdown

const MERGE_TITLES = {
  native: 'the native TurboMerge kernel (the Turbo op library loaded into tfjs-node, src/ops/kernels/tensorflow; built by setup:native)',
  composite: 'the composite TurboMerge (tfjs core ops; the matching reads metric and class attention back to JS)',
};

const ENGINE_TITLES: Record<Engine, string> = {
  'tensorflow-1t': 'tfjs-node, 1 thread',
  tensorflow: 'tfjs-node, default threads',
  wasm: 'tfjs-wasm',
  'onnxruntime-1t': 'onnxruntime-node, 1 thread',
  onnxruntime: 'onnxruntime-node, default threads',
};

function render(r: NativeResult, opts: Opts): void {
  const f1 = (x: number) => x.toFixed(1);
  const f2 = (x: number) => x.toFixed(2);
  const engines = ENGINES.filter((e) => r.groups.some((g) => g.cells.some((c) => c.engine === e)));
  const lines: string[] = ['## Native TensorFlow backend (tfjs-node) vs tfjs-wasm vs onnxruntime-node (generated)', ''];
  lines.push(`Generated by \`${r.command}\` on ${r.date.slice(0, 10)}. Machine: ${r.machine}. All numbers below come from this one run.`);
  lines.push('');
  lines.push(...Object.entries(r.engines).map(([e, d]) => `- ${ENGINE_TITLES[e as Engine] ?? e}: ${d}`));
  lines.push(`- Peer: ${r.peer}`);
  lines.push(`- Code: ${r.code ?? '?'}; Turbo graphs on tfjs-node run ${r.turboMerge ?? '?'}.`);
  lines.push(
    '- Method: each engine is its own process holding its graphs; one run at a time, round-robin over every (engine, graph), the first rotating each round, after one warm-up run each; medians of wall-clock time per run (the machine is shared, so wall clock includes other jobs; the per-process CPU times are in docs/bench/native.json). Inputs: the 8 parity images (batch 1 = the first). Logits read back every run.',
  );
  lines.push('');
  lines.push('### Images/s, original graphs');
  lines.push('');
  lines.push(`| model | batch | ${engines.map((e) => ENGINE_TITLES[e]).join(' | ')} | tfjs-node ÷ onnxruntime (1 thread) | tfjs-node ÷ onnxruntime (default threads) | load average (start, end) |`);
  lines.push(`| --- | --- | ${engines.map(() => '---').join(' | ')} | --- | --- | --- |`);
  for (const g of r.groups) {
    const ips = (e: Engine) => g.cells.find((c) => c.engine === e && c.r === 0)?.imagesPerSec;
    const ratio = (a: Engine, b: Engine) => (ips(a) && ips(b) ? `${f2(ips(a)! / ips(b)!)}×` : '–');
    lines.push(`| ${g.model} | ${g.batch} | ${engines.map((e) => (ips(e) ? f1(ips(e)!) : '–')).join(' | ')} | ${ratio('tensorflow-1t', 'onnxruntime-1t')} | ${ratio('tensorflow', 'onnxruntime')} | ${g.load ? g.load.map(f1).join(', ') : '?'} |`);
  }
  const oneThread = engines.filter((e) => e === 'tensorflow-1t' || e === 'wasm' || e === 'onnxruntime-1t');
  lines.push('');
  lines.push('The same runs of the single-threaded engines by process CPU time (images per CPU-second), which other jobs on the machine do not inflate:');
  lines.push('');
  lines.push(`| model | batch | ${oneThread.map((e) => ENGINE_TITLES[e]).join(' | ')} | tfjs-node ÷ onnxruntime |`);
  lines.push(`| --- | --- | ${oneThread.map(() => '---').join(' | ')} | --- |`);
  for (const g of r.groups) {
    const ips = (e: Engine) => {
      const c = g.cells.find((x) => x.engine === e && x.r === 0);
      return c ? (1000 * g.batch) / c.cpuMs : undefined;
    };
    const ratio = ips('tensorflow-1t') && ips('onnxruntime-1t') ? `${f2(ips('tensorflow-1t')! / ips('onnxruntime-1t')!)}×` : '–';
    lines.push(`| ${g.model} | ${g.batch} | ${oneThread.map((e) => (ips(e) ? f1(ips(e)!) : '–')).join(' | ')} | ${ratio} |`);
  }
  const checked = r.groups.flatMap((g) => g.cells.filter((c) => c.parity !== undefined).map((c) => c.parity!));
  if (checked.length) lines.push('', `ViT-Tiny logits checked against the official vectors on every engine where one exists (original, Turbo r = 8 and 16 at alpha 5): max abs diff ${Math.max(...checked).toExponential(1)}.`);
  lines.push('');
  lines.push(`### Turbo on tfjs-node (alpha ${opts.alpha}; speed-up = original ms ÷ Turbo ms, same rounds)`);
  lines.push('');
  lines.push('| model | batch | threads | r | tokens after last block | FLOP ratio | original ms | Turbo ms | Turbo images/s | speed-up (wall) | speed-up (CPU time) |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const g of r.groups) {
    for (const e of ['tensorflow-1t', 'tensorflow'] as const) {
      const orig = g.cells.find((c) => c.engine === e && c.r === 0);
      if (!orig) continue;
      for (const c of g.cells.filter((x) => x.engine === e && x.r > 0)) {
        const v = g.variants[e].find((x) => x.r === c.r)!;
        lines.push(
          `| ${g.model} | ${g.batch} | ${e === 'tensorflow-1t' ? '1' : 'default'} | ${c.r} | ${v.tokensAfterBlock[v.tokensAfterBlock.length - 1]} | ${f2(v.flopRatio)} | ${f1(orig.wallMs)} | ${f1(c.wallMs)} | ${f1(c.imagesPerSec)} | **${f2(orig.wallMs / c.wallMs)}×** | ${f2(orig.cpuMs / c.cpuMs)}× |`,
        );
      }
    }
  }
  if (r.profiles.length) {
    lines.push('');
    lines.push('### Where the time goes on tfjs-node (1 thread, CPU ms per run, median of the profiled runs)');
    lines.push('');
    lines.push(
      `Kernel times are CPU time inside each kernel call (tf.profile with the backend timer swapped for process CPU time); where a kernel runs other kernels (tfjs-node's _FusedMatMul runs BatchMatMul) only the outer one counts. The TurboMerge graph op is timed whole, with the kernels it runs, which count there and nowhere else; here it is ${r.turboMerge ?? '?'}. "outside kernels" is what the profiled run cost beyond all kernels: the graph executor walking the nodes. Dispatch: the CPU cost of one trivial op (Add of two 1-element tensors) times the number of kernels; it is part of the kernel times, not an extra row.`,
    );
    const keys = [...new Set(r.profiles.map((p) => `${p.model}:${p.batch}`))];
    for (const k of keys) {
      const [o, t] = [r.profiles.find((p) => `${p.model}:${p.batch}` === k && p.graph === 'original'), r.profiles.find((p) => `${p.model}:${p.batch}` === k && p.graph === 'turbo')];
      if (!o || !t) continue;
      const g = r.groups.find((x) => `${x.model}:${x.batch}` === k);
      const flop = g?.variants['tensorflow-1t']?.find((v) => v.r === t.r)?.flopRatio ?? 1;
      const us = Math.min(o.dispatchUsPerOp, t.dispatchUsPerOp); // one trivial op; the higher one met more contention
      lines.push('');
      lines.push(
        `**${MODEL_TITLES[o.model] ?? o.model}, batch ${o.batch}, Turbo r = ${t.r}, alpha ${t.alpha}** (FLOP ratio ${f2(flop)}). Unprofiled CPU ms per run: original ${f1(o.cpuMs)}, Turbo ${f1(t.cpuMs)} (${f2(o.cpuMs / t.cpuMs)}×; at the FLOP ratio it would be ${f1(o.cpuMs / flop)}). Kernels per run: ${o.kernels} and ${t.kernels}; dispatch ≈ ${f1(us)} µs each (the lower of the two measurements, one per graph) = ${f1((o.kernels * us) / 1000)} and ${f1((t.kernels * us) / 1000)} ms.`,
      );
      lines.push('');
      lines.push('| where | original ms | kernels | Turbo ms | kernels | Turbo − original ÷ FLOP ratio |');
      lines.push('| --- | --- | --- | --- | --- | --- |');
      const cats = [...new Set([...o.categories, ...t.categories].map((c) => c.category))];
      const get = (p: ProfileReply, c: string) => p.categories.find((x) => x.category === c);
      cats.sort((a, b) => (get(t, b)?.ms ?? 0) - (get(t, a)?.ms ?? 0));
      for (const c of cats) {
        const oc = get(o, c);
        const tc = get(t, c);
        lines.push(`| ${c} | ${f1(oc?.ms ?? 0)} | ${oc?.kernels ?? 0} | ${f1(tc?.ms ?? 0)} | ${tc?.kernels ?? 0} | ${f1((tc?.ms ?? 0) - (oc?.ms ?? 0) / flop)} |`);
      }
      lines.push(`| total (profiled) | ${f1(o.profiledCpuMs)} | ${o.kernels} | ${f1(t.profiledCpuMs)} | ${t.kernels} | ${f1(t.profiledCpuMs - o.profiledCpuMs / flop)} |`);
    }
  }
  replaceSection(opts.md, 'bench-native', lines.join('\n'));
  console.error(`updated the bench-native section of ${opts.md}`);
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
