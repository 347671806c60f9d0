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
// Models (bench/models.ts): the embedded real ViT-Tiny and ViT-B/16-224 with random weights
// converted at bench time. The onnxruntime peer (bench/onnx.ts) is exported from the same
// safetensors by scripts/bench/export_onnx.py into .cache/onnx/ (git-ignored).
//
// How a measurement works (bench/sweep.ts, src/runtime/timing.ts): for one (model, backend, batch) the
// original graph and a group of Turbo graphs (as many as fit the memory budget) are loaded together;
// each is run once to warm up, then `--rounds` times round-robin (the starting graph rotates every
// round, so drift hits every graph alike); a row's speed-up is median(original ms) / median(Turbo ms)
// over the same rounds. Times are the process's CPU time (single-threaded engines; the machine this
// was written on is shared, and its wall clock mostly measured the other jobs); wall-clock medians
// are kept in the JSON too.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { runProgram } from '../src/cli/run';
import { registerTurboOps } from '../src/ops/register';
import { BackendName, useBackend } from '../src/runtime/backend';
import { DEFAULT_TURBO_OPTIONS } from '../src/turbo/options';
import { packageRoot } from '../src/paths';
import { readInputs, readParity } from './bench/inputs';
import { gitState, machineInfo } from './bench/machine';
import { loadModel, opDiff, turboGraph } from './bench/models';
import { DEFAULT_JSON, DEFAULT_MD, Opts, chooseBackends, parseSettings, planJobs, requireFolder } from './bench/options';
import { openPeer, setupPeer } from './bench/peer';
import { renderMarkdown } from './bench/render';
import { Check, Result, readResults, round2 } from './bench/results';
import { SweepOutput, measureModel } from './bench/sweep';
import { replaceSection } from './markdown';

const ROOT = packageRoot();

async function main(opts: Opts): Promise<void> {
  if (opts.fromJson) return renderOnly(opts);
  const started = Date.now();
  const loadAvgStart = os.loadavg();
  const code = gitState();
  const settings = parseSettings(opts);
  const { modelKeys, alphas, batches } = settings;

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

  const { peer, ort, ortVersion } = await setupPeer(opts, modelKeys);
  if (peer.skipped) log(peer.skipped);

  registerTurboOps();
  if (backends.includes('wasm')) backendStatus.wasm = await describeWasm(backendStatus.wasm);

  const { jobs, totalRuns } = planJobs(settings, backends, opts, opts.peer && !peer.skipped);
  const peerAlpha = DEFAULT_TURBO_OPTIONS.alpha;
  bar = bars.create(totalRuns, 0, { task: 'loading models' });

  const out: SweepOutput = { rows: [], peers: [], profiles: [] };
  const checks: Check[] = [];
  const modelInfo: Result['models'] = {};
  const addCheck = (c: Check) => {
    checks.push(c);
    const verdict = c.ok === null ? '' : c.ok ? ' ok' : ` FAILED (tolerance ${c.tolerance})`;
    log(`check: ${c.what}: max |Δ| = ${c.maxAbsDiff.toExponential(2)}${verdict}`);
  };

  for (const key of modelKeys) {
    const model = await loadModel(key, opts, peer, log);
    const ref = turboGraph(model.graph, model.spec, opts.peerR, peerAlpha).graph;
    modelInfo[key] = {
      title: model.spec.title,
      source: model.source,
      weightMiB: Math.round(model.weightBytes / 2 ** 20),
      onnx: model.onnx ? path.relative(ROOT, model.onnx) : null,
      nodes: { original: model.graph.nodes.length, turbo: ref.nodes.length, turboConfig: `r=${opts.peerR},alpha=${peerAlpha}`, changedOps: opDiff(model.graph, ref) },
    };
    const ortRunners = ort && model.onnx ? await openPeer(ort, model, inputs, parity, addCheck, log) : null;
    await measureModel(model, backends, jobs, ortRunners, {
      inputs,
      parity,
      alphas,
      sweep: settings.sweepOf(key),
      peerR: opts.peerR,
      peerAlpha,
      profileSet: settings.profileSet,
      profileRuns: opts.profileRuns,
      tick: (task) => bar?.increment(1, { task }),
      setTask: (task) => bar?.update({ task }),
      addCheck,
      checks,
    }, out);
    if (ortRunners) for (const r of ortRunners) await r.dispose();
  }
  bars.stop();
  bar = null;

  const m = machineInfo();
  const result: Result = {
    date: new Date().toISOString(),
    command: ['node dist/scripts/bench.js', ...process.argv.slice(2)].join(' '),
    code,
    machine: { cpu: m.cpu, cores: m.cores, memGiB: m.memGiB, os: `${m.platform} ${m.release}`, loadAvgStart: loadAvgStart.map(round2), loadAvgEnd: os.loadavg().map(round2) },
    versions: { tfjs: tf.version_core, node: process.version, onnxruntimeNode: ortVersion, ...peer.versions },
    backends: Object.fromEntries(Object.entries(backendStatus).filter(([b]) => backends.includes(b as BackendName) || b === 'tensorflow')),
    models: modelInfo,
    settings: { rounds: opts.rounds, cpuRounds: opts.cpuRounds, warmup: 1, alphas, batches, peerR: opts.peerR, peerAlpha },
    peer: {
      ran: out.peers.length > 0,
      skipped: peer.skipped,
      threads: `intra-op 1, and intra-op 0 = onnxruntime's default (one per physical core; this machine reports ${m.cores} logical CPUs); sequential execution, graph optimisation level all, thread-pool spinning off`,
    },
    checks,
    ...out,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  fs.writeFileSync(opts.json, JSON.stringify(result, null, 1) + '\n');
  const md = renderMarkdown(result);
  replaceSection(opts.md, 'bench', md);
  process.stdout.write(md + '\n');
  process.stderr.write(`wrote ${path.relative(process.cwd(), opts.json)} and the 'bench' section of ${path.relative(process.cwd(), opts.md)} (${result.seconds} s)\n`);
}

/** The wasm backend's line in the doc: SIMD and threads as this process has them. */
async function describeWasm(base: string): Promise<string> {
  await useBackend('wasm');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const threads = (require('@tensorflow/tfjs-backend-wasm') as { getThreadsCount: () => number }).getThreadsCount();
  return `${base}, SIMD ${simd ? 'on' : 'off'}, ${threads} thread${threads === 1 ? '' : 's'}${mt ? '' : ' (no multithread support in Node)'}`;
}

/** --from-json: re-renders the markdown section from a results file, measuring nothing. */
async function renderOnly(opts: Opts): Promise<void> {
  const result = readResults(opts.fromJson!);
  requireFolder(opts.md, false);
  replaceSection(opts.md, 'bench', renderMarkdown(result));
  process.stderr.write(`rendered ${path.relative(process.cwd(), opts.fromJson!)} into the 'bench' section of ${path.relative(process.cwd(), opts.md)}\n`);
}

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
  .option('--shared <dir>', 'the shared/ directory (ViT-Tiny safetensors for the ONNX export)', path.resolve(ROOT, '..', 'shared'))
  .option('--python <cmd>', 'Python 3 with onnx, safetensors, numpy', process.env.PYTHON ?? 'python3')
  .option('--onnx-cache <dir>', 'where exported .onnx files are kept (git-ignored)', path.join(ROOT, '.cache', 'onnx'))
  .option('--json <file>', 'results file', DEFAULT_JSON)
  .option('--md <file>', 'markdown file with the generated section', DEFAULT_MD)
  .option('--from-json <file>', 'measure nothing: re-render the markdown section from a results file')
  .action(main);

if (require.main === module) runProgram(program, process.argv.slice(2)).then((c) => (process.exitCode = c));
