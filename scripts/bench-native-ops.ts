#!/usr/bin/env node
// The native Turbo ops (build/native, a TensorFlow custom-op library) on the tensorflow backend,
// one process, TensorFlow on 1 thread unless --threads default. Two interleaved measurements:
//   1. one TurboMerge, native vs composite, against one ViT block built from tfjs ops
//      (bench/vit_block.ts, bench-merge's block) at ViT-Tiny and ViT-B width, N = 197;
//   2. the embedded ViT-Tiny run op by op: original vs Turbo (native ops) vs Turbo (composite).
// Writes the 'native-ops' section of docs/BENCHMARKS.md.
//
//   npx tsc -p tsconfig.json && node dist/scripts/bench-native-ops.js [--r 13] [--alpha 1]
//       [--batches 1,8] [--runs 30] [--rounds 15] [--threads 1|default] [--no-write]

import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';

import * as tf from '@tensorflow/tfjs-core';
import { embeddedModelDir } from '../src/convert';
import { readGraphModel } from '../src/graph/model_io';
import { loadTurboOpLibrary } from '../src/native/op_library';
import { registerFusedKernels, registerTurboOps, unregisterFusedKernels } from '../src/ops/register';
import { turboMerge } from '../src/ops/turbo_merge';
import { packageRoot } from '../src/paths';
import { describeBackend, useBackend } from '../src/runtime/backend';
import { readInputs } from './bench/inputs';
import { machineInfo } from './bench/machine';
import { MODELS, cloneGraph, turboGraph } from './bench/models';
import { Runner, tfjsRunner, timedRunner } from './bench/runners';
import { interleave, median } from '../src/runtime/timing';
import { BlockDims, VIT_B_DIMS, VIT_TINY_DIMS, blockWeights, readBackTimed, vitBlock } from './bench/vit_block';
import { replaceSection } from './markdown';

const N = 197;

interface Options {
  r: number;
  alpha: number;
  batches: string;
  runs: number;
  rounds: number;
  threads: string;
  write: boolean;
  md: string;
}

interface MergeRow {
  size: string;
  batch: number;
  blockMs: number;
  nativeMs: number;
  compositeMs: number;
}

interface ModelRow {
  batch: number;
  originalMs: number;
  nativeMs: number;
  compositeMs: number;
  maxDiffNativeVsComposite: number;
}

/** Native on or off for what follows (registerFusedKernels registers the native tensorflow kernels). */
function useNative(on: boolean): void {
  if (on) registerFusedKernels();
  else unregisterFusedKernels();
}

async function benchMerge(size: string, dims: BlockDims, batch: number, o: Options): Promise<MergeRow> {
  const w = blockWeights(dims);
  const x = tf.randomNormal([batch, N, dims.hidden], 0, 1, 'float32', 1) as tf.Tensor3D;
  const metric = tf.randomNormal([batch, N, dims.headDim], 0, 1, 'float32', 2) as tf.Tensor3D;
  const cls = tf.softmax(tf.randomNormal([batch, N], 0, 2, 'float32', 3)) as tf.Tensor2D;
  const merge = (native: boolean) => () => {
    useNative(native);
    const m = turboMerge(x, metric, cls, null, { r: o.r, alpha: o.alpha });
    return [m.x, m.size, m.assignment];
  };
  // Interleaved in this order every round, wall clock (src/runtime/timing.ts).
  const runners = [readBackTimed('block', () => [tf.tidy(() => vitBlock(x, w))]), readBackTimed('native', merge(true)), readBackTimed('composite', merge(false))];
  const { times } = await interleave(runners, { rounds: o.runs, warmup: 5, rotate: false });
  const [block, native, composite] = times.map((t) => t.wall);
  useNative(true);
  tf.dispose([x, metric, cls, ...Object.values(w).filter((v): v is tf.Tensor => v instanceof tf.Tensor)]);
  return { size, batch, blockMs: median(block), nativeMs: median(native), compositeMs: median(composite) };
}

/** A runner that switches the native kernels on or off before each run. */
function withKernels(r: Runner, native: boolean, label: string): Runner {
  return { label, run: (batch) => (useNative(native), r.run(batch)), dispose: () => r.dispose() };
}

async function benchModel(batches: number[], o: Options): Promise<ModelRow[]> {
  const inputs = readInputs();
  const base = await readGraphModel(embeddedModelDir());
  const original = await tfjsRunner('original', cloneGraph(base), inputs);
  const turbo = turboGraph(base, MODELS['vit-tiny'], o.r, o.alpha);
  const turboRunner = await tfjsRunner('turbo', turbo.graph, inputs);
  const runners = [
    withKernels(original, true, 'original'),
    withKernels(turboRunner, true, `turbo r=${o.r} native`),
    withKernels(turboRunner, false, `turbo r=${o.r} composite`),
  ];
  const rows: ModelRow[] = [];
  for (const batch of batches) {
    const { warm: w, times } = await interleave(runners.map((r) => timedRunner(r, batch)), { rounds: o.rounds });
    const warm = w as Float32Array[];
    let d = 0;
    for (let i = 0; i < warm[1].length; i++) d = Math.max(d, Math.abs(warm[1][i] - warm[2][i]));
    const [orig, nat, comp] = times.map((t) => median(t.wall));
    rows.push({ batch, originalMs: orig, nativeMs: nat, compositeMs: comp, maxDiffNativeVsComposite: d });
    console.log(`ViT-Tiny b${batch}: original ${orig.toFixed(2)} ms, Turbo native ${nat.toFixed(2)} ms (${(orig / nat).toFixed(2)}x), composite ${comp.toFixed(2)} ms (${(orig / comp).toFixed(2)}x)`);
  }
  useNative(true);
  original.dispose();
  turboRunner.dispose();
  return rows;
}

const ms = (v: number) => v.toFixed(v < 10 ? 3 : 1);
const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;

function render(merge: MergeRow[], model: ModelRow[], o: Options, command: string, threads: string): string {
  const m = machineInfo();
  return [
    '## Native Turbo ops on the tensorflow backend',
    '',
    `Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: ${m.cpu}, ${m.cores} cores (shared with other jobs: 1-minute load average ` +
      `${os.loadavg()[0].toFixed(1)} at the end of this run, so absolute times are inflated; the interleaved ratios less so), ${m.platform} ${m.arch}; ` +
      `backend ${describeBackend()}, ${threads}; op library ${path.relative(packageRoot(), loadTurboOpLibrary().path ?? '')} ` +
      `(\`npm run build:native-ops\`); Node ${process.version}.`,
    '',
    `**TurboMerge vs one ViT block** (N = ${N}, r = ${o.r}, alpha = ${o.alpha}, metric dim 64; block = bench-merge.ts's ` +
      `block from tfjs ops, op by op). Medians of ${o.runs} interleaved rounds after 5 warm-up rounds, each with the read-back of its outputs. ` +
      'native = the TensorFlow custom op through executeMultipleOutputs; composite = the tfjs-op path tfjs-node ran before (read-back, matching in JS, small ops).',
    '',
    '| block | batch | block (ms) | native TurboMerge (ms) | % of block | composite TurboMerge (ms) | % of block |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...merge.map((r) => `| ${r.size} | ${r.batch} | ${ms(r.blockMs)} | ${ms(r.nativeMs)} | ${pct(r.nativeMs, r.blockMs)} | ${ms(r.compositeMs)} | ${pct(r.compositeMs, r.blockMs)} |`),
    '',
    `**ViT-Tiny op by op** (the embedded model as a tfjs graph model, \`execute\`): original vs Turbo r = ${o.r}, alpha = ${o.alpha} ` +
      `with the native ops and with the composite; medians of ${o.rounds} interleaved rounds after one warm-up run each, ratios from this one run.`,
    '',
    '| batch | original (ms) | Turbo, native ops (ms) | speed-up | Turbo, composite (ms) | speed-up | max abs diff native vs composite logits |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...model.map(
      (r) =>
        `| ${r.batch} | ${ms(r.originalMs)} | ${ms(r.nativeMs)} | ${(r.originalMs / r.nativeMs).toFixed(2)}x | ${ms(r.compositeMs)} | ` +
        `${(r.originalMs / r.compositeMs).toFixed(2)}x | ${r.maxDiffNativeVsComposite.toExponential(1)} |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const o = new Command('bench-native-ops')
    .description('Native Turbo ops on tfjs-node: TurboMerge vs a ViT block, and op-by-op Turbo ViT-Tiny vs the original')
    .option('--r <n>', 'tokens merged per block', (s) => Number(s), 13)
    .option('--alpha <x>', 'class-attention weight', (s) => Number(s), 1)
    .option('--batches <list>', 'batch sizes', '1,8')
    .option('--runs <n>', 'interleaved rounds of the merge measurement', (s) => Number(s), 30)
    .option('--rounds <n>', 'interleaved rounds of the model measurement', (s) => Number(s), 15)
    .option('--threads <n>', "TensorFlow threads: 1 (TF_NUM_INTRAOP_THREADS=1, TF_NUM_INTEROP_THREADS=1) or 'default'", '1')
    .option('--md <file>', 'markdown file to update', path.join(packageRoot(), 'docs', 'BENCHMARKS.md'))
    .option('--no-write', 'print only')
    .parse(process.argv)
    .opts<Options>();
  // Read by TensorFlow when tfjs-node creates its context: before useBackend.
  if (o.threads !== 'default') {
    process.env.TF_NUM_INTRAOP_THREADS = o.threads;
    process.env.TF_NUM_INTEROP_THREADS = o.threads;
  }
  const threads = o.threads === 'default' ? 'default threads' : `${o.threads} thread (TF_NUM_INTRAOP_THREADS=${o.threads}, TF_NUM_INTEROP_THREADS=${o.threads})`;
  await useBackend('tensorflow');
  registerTurboOps();
  const lib = loadTurboOpLibrary();
  if (!lib.loaded) throw new Error(lib.error);
  const batches = o.batches.split(',').map(Number);

  const merge: MergeRow[] = [];
  for (const [size, dims] of [['ViT-Tiny', VIT_TINY_DIMS], ['ViT-B', VIT_B_DIMS]] as const) {
    for (const batch of batches) {
      const row = await benchMerge(size, dims, batch, o);
      merge.push(row);
      console.log(`${size} b${batch}: block ${ms(row.blockMs)} ms, native merge ${ms(row.nativeMs)} ms (${pct(row.nativeMs, row.blockMs)}), composite ${ms(row.compositeMs)} ms (${pct(row.compositeMs, row.blockMs)})`);
    }
  }
  const model = await benchModel(batches, o);
  const command = `node dist/scripts/bench-native-ops.js ${process.argv.slice(2).join(' ')}`.trim();
  const md = render(merge, model, o, command, threads);
  if (o.write) {
    replaceSection(o.md, 'native-ops', md);
    console.log(`wrote the native-ops section of ${o.md}`);
  } else console.log(md);
}

main().catch((e) => {
  console.error(`bench-native-ops: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
