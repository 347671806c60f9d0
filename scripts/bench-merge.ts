#!/usr/bin/env node
// Cost of one turboMerge against one ViT-B block, same backend, same process, interleaved, medians
// after warm-up. The block is built from tfjs ops the way our converted graphs run it (LayerNorm as
// mean/variance ops, q/k/v/proj as Reshape → 2-D MatMul + bias → Reshape, 12 heads of 64,
// BatchMatMul QKᵀ, Softmax, PV, GELU (erf) MLP of 3072, residuals). Writes the 'merge-op' section of
// docs/BENCHMARKS.md.
//
//   npx tsc -p tsconfig.json && node dist/scripts/bench-merge.js [--backend wasm] [--batches 1,8]
//                                   [--runs 25] [--warmup 5] [--r 16] [--alpha 5] [--no-write]

import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { Command, InvalidArgumentError } from 'commander';
import { registerFusedKernels, registerTurboOps, unregisterFusedKernels } from '../src/ops/register';
import { turboMerge } from '../src/ops/turbo_merge';
import { matchTokens } from '../src/ops/kernels/match';
import { BackendName, useBackend } from '../src/runtime/backend';
import { replaceSection } from './markdown';
import { packageRoot } from '../src/paths';
import { median } from './stats';

const ROOT = packageRoot();

/** A ViT block's widths: scripts/bench-native-ops.ts also times ViT-Tiny blocks. */
export interface BlockDims {
  hidden: number;
  heads: number;
  headDim: number;
  mlp: number;
}

export const VIT_B_DIMS: BlockDims = { hidden: 768, heads: 12, headDim: 64, mlp: 3072 };
export const VIT_TINY_DIMS: BlockDims = { hidden: 192, heads: 3, headDim: 64, mlp: 768 };

// ViT-B/16 at 224: 196 patches + class token.
const N = 197;
const { hidden: HIDDEN, heads: HEADS, headDim: HEAD_DIM, mlp: MLP } = VIT_B_DIMS;
const EPS = 1e-6;
/** Fused-merge and matching timings per round (they are ~100x cheaper than a block). */
const CHEAP_REPEATS = 5;

interface Options {
  backend: BackendName;
  batches: number[];
  runs: number;
  warmup: number;
  r: number;
  alpha: number;
  write: boolean;
  md: string;
}

interface Row {
  batch: number;
  blockMs: number;
  fusedMs: number;
  matchMs: number;
  compositeMs: number;
  /** Fastest single runs: the cost without interference from other jobs on a shared machine. */
  blockMinMs: number;
  fusedMinMs: number;
}

// ---- one ViT-B block from tfjs ops -------------------------------------------------------------

interface Linear {
  w: tf.Tensor2D;
  b: tf.Tensor1D;
}

export interface BlockWeights {
  dims: BlockDims;
  ln1: { g: tf.Tensor1D; b: tf.Tensor1D };
  ln2: { g: tf.Tensor1D; b: tf.Tensor1D };
  q: Linear;
  k: Linear;
  v: Linear;
  proj: Linear;
  fc1: Linear;
  fc2: Linear;
}

function linear(inDim: number, outDim: number, seed: number): Linear {
  return {
    w: tf.randomNormal([inDim, outDim], 0, 0.02, 'float32', seed) as tf.Tensor2D,
    b: tf.randomNormal([outDim], 0, 0.02, 'float32', seed + 1) as tf.Tensor1D,
  };
}

export function blockWeights(dims: BlockDims = VIT_B_DIMS): BlockWeights {
  const { hidden, mlp } = dims;
  const ln = (seed: number) => ({
    g: tf.add(1, tf.randomNormal([hidden], 0, 0.02, 'float32', seed)) as tf.Tensor1D,
    b: tf.randomNormal([hidden], 0, 0.02, 'float32', seed + 1) as tf.Tensor1D,
  });
  return {
    dims,
    ln1: ln(1),
    ln2: ln(3),
    q: linear(hidden, hidden, 10),
    k: linear(hidden, hidden, 12),
    v: linear(hidden, hidden, 14),
    proj: linear(hidden, hidden, 16),
    fc1: linear(hidden, mlp, 18),
    fc2: linear(mlp, hidden, 20),
  };
}

/** Mean, SquaredDifference, Mean, AddV2, Rsqrt, Mul, Mul, AddV2: LayerNorm as converted graphs run it. */
function layerNorm(x: tf.Tensor3D, p: { g: tf.Tensor1D; b: tf.Tensor1D }): tf.Tensor3D {
  const mean = tf.mean(x, -1, true);
  const variance = tf.mean(tf.squaredDifference(x, mean), -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, EPS))), p.g), p.b);
}

/** [B, N, in] → Reshape [B·N, in] → MatMul + bias → Reshape [B, N, out]. */
function dense(x: tf.Tensor3D, p: Linear): tf.Tensor3D {
  const [b, n, c] = x.shape;
  const y = tf.add(tf.matMul(tf.reshape(x, [b * n, c]) as tf.Tensor2D, p.w), p.b);
  return tf.reshape(y, [b, n, p.w.shape[1]]);
}

/** [B, N, C] → [B, H, N, d] */
function heads(x: tf.Tensor3D, dims: BlockDims): tf.Tensor4D {
  const [b, n] = x.shape;
  return tf.transpose(tf.reshape(x, [b, n, dims.heads, dims.headDim]), [0, 2, 1, 3]);
}

function geluErf(x: tf.Tensor3D): tf.Tensor3D {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

export function vitBlock(x: tf.Tensor3D, w: BlockWeights): tf.Tensor3D {
  const [b, n] = x.shape;
  const h = layerNorm(x, w.ln1);
  const q = heads(dense(h, w.q), w.dims);
  const k = heads(dense(h, w.k), w.dims);
  const v = heads(dense(h, w.v), w.dims);
  const logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(w.dims.headDim));
  const attn = tf.matMul(tf.softmax(logits), v);
  const merged = tf.reshape(tf.transpose(attn, [0, 2, 1, 3]), [b, n, w.dims.hidden]) as tf.Tensor3D;
  const x1 = tf.add(x, dense(merged, w.proj)) as tf.Tensor3D;
  const mlp = dense(geluErf(dense(layerNorm(x1, w.ln2), w.fc1)), w.fc2);
  return tf.add(x1, mlp) as tf.Tensor3D;
}

// ---- timing ------------------------------------------------------------------------------------

/** Milliseconds for f, including reading its result back (wasm and cpu run synchronously). */
export function time(f: () => tf.Tensor[]): number {
  const t0 = process.hrtime.bigint();
  const out = f();
  for (const t of out) t.dataSync();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  tf.dispose(out);
  return ms;
}


function benchBatch(batch: number, w: BlockWeights, o: Options): Row {
  const x = tf.randomNormal([batch, N, HIDDEN], 0, 1, 'float32', 100 + batch) as tf.Tensor3D;
  const metric = tf.randomNormal([batch, N, HEAD_DIM], 0, 1, 'float32', 200 + batch) as tf.Tensor3D;
  const clsAttn = tf.softmax(tf.randomNormal([batch, N], 0, 2, 'float32', 300 + batch)) as tf.Tensor2D;
  const metricData = metric.dataSync();
  const clsData = clsAttn.dataSync();
  const attrs = { r: o.r, alpha: o.alpha, beta: 1, gamma: 0, layer: 0, protectedTokens: 1, rThreshold: 0 };

  const block = () => [tf.tidy(() => vitBlock(x, w))];
  const merge = () => {
    const m = turboMerge(x, metric, clsAttn, null, { r: o.r, alpha: o.alpha });
    return [m.x, m.size, m.assignment];
  };
  const fused = () => {
    registerFusedKernels();
    return merge();
  };
  const composite = () => {
    unregisterFusedKernels();
    return merge();
  };
  const match = () => {
    matchTokens(metricData, clsData, { batch, n: N, d: HEAD_DIM }, attrs);
    return [];
  };

  const samples: Record<'block' | 'fused' | 'match' | 'composite', number[]> = { block: [], fused: [], match: [], composite: [] };
  for (let i = 0; i < o.warmup + o.runs; i++) {
    // Interleaved, so drift on a shared machine hits all alike; the cheap merge-side measurements
    // are repeated within a round for steadier medians.
    const timed = i >= o.warmup;
    const record = (k: keyof typeof samples, v: number) => {
      if (timed) samples[k].push(v);
    };
    record('block', time(block));
    for (let j = 0; j < CHEAP_REPEATS; j++) {
      record('fused', time(fused));
      record('match', time(match));
    }
    record('composite', time(composite));
  }
  registerFusedKernels();
  tf.dispose([x, metric, clsAttn]);
  return {
    batch,
    blockMs: median(samples.block),
    fusedMs: median(samples.fused),
    matchMs: median(samples.match),
    compositeMs: median(samples.composite),
    blockMinMs: Math.min(...samples.block),
    fusedMinMs: Math.min(...samples.fused),
  };
}

// ---- report ------------------------------------------------------------------------------------

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(2)} %`;
const ms = (v: number) => v.toFixed(v < 10 ? 3 : 1);

function renderMarkdown(rows: Row[], o: Options, command: string, backendInfo: string): string {
  const cpus = os.cpus();
  const lines = [
    '## turboMerge vs one ViT-B block',
    '',
    `Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores (shared), ${os.platform()} ${os.arch()}; ` +
      `backend ${backendInfo}; tfjs ${tf.version_core}; Node ${process.version}.`,
    '',
    `One \`turboMerge\` at ViT-B/16-224 size (N = ${N}, C = ${HIDDEN}, metric dim ${HEAD_DIM}, r = ${o.r}, alpha = ${o.alpha}, ` +
      `class token protected) against one ViT-B block at N = ${N} built from tfjs ops as our graphs run it ` +
      `(LayerNorm, q/k/v/proj as Reshape → 2-D MatMul + bias → Reshape, ${HEADS} heads of ${HEAD_DIM}, BatchMatMul QKᵀ, ` +
      `Softmax, PV, GELU-erf MLP ${MLP}, residuals). Medians of ${o.runs} interleaved runs after ${o.warmup} warm-up ` +
      `rounds (fused and matching: ${CHEAP_REPEATS} per round), each including the read-back of its outputs. ` +
      `"matching alone" times the pure-JS bipartite matching by itself (a part of the fused time, measured ` +
      `separately). Target: fused ≤ 5 % of a block.`,
    '',
    '| batch | ViT-B block (ms) | fused turboMerge (ms) | % of block | matching alone (ms) | composite turboMerge (ms) | % of block |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.batch} | ${ms(r.blockMs)} | ${ms(r.fusedMs)} | ${pct(r.fusedMs, r.blockMs)} | ${ms(r.matchMs)} | ` +
        `${ms(r.compositeMs)} | ${pct(r.compositeMs, r.blockMs)} |`,
    ),
    '',
    'Fastest single runs (less disturbed by other jobs on the machine): ' +
      rows.map((r) => `batch ${r.batch}: block ${ms(r.blockMinMs)} ms, fused ${ms(r.fusedMinMs)} ms (${pct(r.fusedMinMs, r.blockMinMs)})`).join('; ') +
      '.',
  ];
  return lines.join('\n');
}

async function describeBackend(name: BackendName): Promise<string> {
  if (name !== 'wasm') return name;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return `wasm (SIMD ${simd ? 'on' : 'off'}, ${threads ? 'multi-threaded' : 'single thread'})`;
}

// ---- CLI ---------------------------------------------------------------------------------------

function positiveInt(what: string) {
  return (s: string) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`${what}: '${s}' is not a positive integer`);
    return v;
  };
}

function intList(s: string): number[] {
  return s.split(',').map((p) => positiveInt('--batches')(p.trim()));
}

async function main(): Promise<void> {
  const program = new Command('bench-merge')
    .description('Time one turboMerge (fused kernel and composite) against one ViT-B block; writes docs/BENCHMARKS.md#merge-op')
    .option('--backend <name>', 'tfjs backend: wasm or cpu', 'wasm')
    .option('--batches <list>', 'batch sizes, comma-separated', intList, [1, 8])
    .option('--runs <n>', 'timed runs per measurement (median)', positiveInt('--runs'), 25)
    .option('--warmup <n>', 'untimed warm-up rounds', positiveInt('--warmup'), 5)
    .option('--r <n>', 'tokens merged', positiveInt('--r'), 16)
    .option('--alpha <x>', 'class-attention weight', (s: string) => Number(s), 5)
    .option('--md <file>', 'markdown file to update', path.join(ROOT, 'docs', 'BENCHMARKS.md'))
    .option('--no-write', 'print only, do not update the markdown file')
    .parse(process.argv);
  const o = program.opts<Options>();
  if (o.backend !== 'wasm' && o.backend !== 'cpu') throw new Error(`--backend: '${o.backend}' is not wasm or cpu`);
  if (!Number.isFinite(o.alpha)) throw new Error('--alpha: not a number');

  await useBackend(o.backend);
  registerTurboOps();
  const w = blockWeights();
  const rows: Row[] = [];
  for (const batch of o.batches) {
    const row = benchBatch(batch, w, o);
    rows.push(row);
    console.log(
      `batch ${batch}: block ${ms(row.blockMs)} ms, fused merge ${ms(row.fusedMs)} ms (${pct(row.fusedMs, row.blockMs)}; ` +
        `matching alone ${ms(row.matchMs)} ms), composite ${ms(row.compositeMs)} ms (${pct(row.compositeMs, row.blockMs)})`,
    );
  }
  const command = `node dist/scripts/bench-merge.js ${process.argv.slice(2).join(' ')}`.trim();
  const md = renderMarkdown(rows, o, command, await describeBackend(o.backend));
  if (o.write) {
    replaceSection(o.md, 'merge-op', md);
    console.log(`wrote the merge-op section of ${path.relative(process.cwd(), o.md) || o.md}`);
  } else {
    console.log(md);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
