// One engine of bench-native, in its own process (see protocol.ts for why). The parent sends
// load / run / profile requests over IPC and interleaves the engines itself; this side only
// executes and times (src/runtime/timing.ts: wall clock and this process's CPU time, all its threads).

import * as tf from '@tensorflow/tfjs-core';
import { readGraphModel } from '../../../src/graph/model_io';
import { TurboMerge } from '../../../src/ops/kernel_names';
import { hasFusedKernel, registerTurboOps } from '../../../src/ops/register';
import { useBackend } from '../../../src/runtime/backend';
import { readInputs } from '../inputs';
import { MODELS, cloneGraph, turboGraph } from '../models';
import { loadOrt, ortRunner } from '../onnx';
import { CAT, KernelRun, kernelCategory, profileKernels } from '../profile';
import { Runner, TfjsRunner, tfjsRunner } from '../runners';
import { cpuNowMs, median, timeOnce } from '../../../src/runtime/timing';
import { Engine, LoadReply, ProfileReply, Reply, Request, RunReply } from './protocol';

const engine = process.argv[2] as Engine;
const inputs = readInputs();
let runners: Runner[] = [];

async function load(req: Extract<Request, { cmd: 'load' }>): Promise<LoadReply> {
  await unload();
  const spec = MODELS[req.model];
  if (engine.startsWith('onnxruntime')) {
    const { ort, version, why } = await loadOrt();
    if (!ort || !req.onnx) throw new Error(why ?? `no ONNX export of ${req.model}`);
    const threads = engine === 'onnxruntime-1t' ? 1 : 0; // 0: onnxruntime's default (one per core)
    runners = [await ortRunner(ort, `${engine} original`, req.onnx, threads, inputs)];
    return { engine: `onnxruntime-node ${version}, ${threads === 1 ? '1 thread' : 'default threads'}`, merge: null, variants: [{ r: 0, alpha: 0, tokensAfterBlock: [], flopRatio: 1, nodes: 0 }] };
  }
  await useBackend(engine === 'wasm' ? 'wasm' : 'tensorflow');
  registerTurboOps();
  const base = await readGraphModel(req.graphDir);
  const out: LoadReply['variants'] = [];
  for (const v of req.variants) {
    const t = v.r === 0 ? { graph: cloneGraph(base), tokens: [], flopRatio: 1 } : turboGraph(base, spec, v.r, v.alpha);
    out.push({ r: v.r, alpha: v.alpha, tokensAfterBlock: t.tokens, flopRatio: t.flopRatio, nodes: t.graph.nodes.length });
    runners.push(await tfjsRunner(`${engine} r=${v.r}`, t.graph, inputs));
  }
  // The fused kernel (the op library on tensorflow) when this backend has one, else the composite.
  return { engine: describe(), merge: hasFusedKernel(TurboMerge, tf.getBackend()) ? 'native' : 'composite', variants: out };
}

function describe(): string {
  if (engine === 'wasm') return 'tfjs-backend-wasm 4.22.0 (SIMD, 1 thread: no threads in Node)';
  const binding = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding;
  const threads = engine === 'tensorflow-1t' ? '1 thread (TF_NUM_INTRAOP_THREADS=1, TF_NUM_INTEROP_THREADS=1)' : 'default threads';
  return `tfjs-node 4.22.0 on TensorFlow ${binding.TF_Version} (setup:native), ${threads}`;
}

async function unload(): Promise<void> {
  for (const r of runners) await r.dispose();
  runners = [];
}

async function run(req: Extract<Request, { cmd: 'run' }>): Promise<RunReply> {
  const t = await timeOnce(() => runners[req.variant].run(req.batch));
  return { wallMs: t.wallMs, cpuMs: t.cpuMs, output: req.keepOutput ? Array.from(t.value) : undefined };
}

// ---------------------------------------------------------------------------------------------
// Profile: where the Turbo graph's time goes on this backend (bench/profile.ts records it).

const GROUPS: Record<string, string> = {
  [CAT.dense]: 'dense layers (MatMul by a weight)',
  [CAT.attn]: 'attention (Q·Kᵀ, P·V, Softmax)',
  [CAT.softmax]: 'attention (Q·Kᵀ, P·V, Softmax)',
  [CAT.metric]: 'Turbo inputs (metric and class-attention means and slices, log size, its Add)',
  [CAT.clsSlice]: 'Turbo inputs (metric and class-attention means and slices, log size, its Add)',
  [CAT.clsMean]: 'Turbo inputs (metric and class-attention means and slices, log size, its Add)',
  [CAT.propLog]: 'Turbo inputs (metric and class-attention means and slices, log size, its Add)',
  [CAT.propAdd]: 'Turbo inputs (metric and class-attention means and slices, log size, its Add)',
};
const MERGE = 'TurboMerge op (timed whole, with every kernel it runs)';
const SHAPE = 'shape ops (rank ≤ 1 kernels: dynamic token counts)';
const OTHER = 'other kernels';
const OUTSIDE = 'outside kernels (graph executor, JS)';

/**
 * tfjs records an op-level scope around some kernels (fusedMatMul__op around _FusedMatMul); on
 * tfjs-node the kernel inside runs further kernels (_FusedMatMul runs BatchMatMul). Only top-level
 * entries are counted, so a scope stands for the kernel it wraps.
 */
const KERNEL_OF_SCOPE: Record<string, string> = { fusedMatMul__op: '_FusedMatMul', fusedConv2d__op: 'FusedConv2D', fusedDepthwiseConv2d__op: 'FusedDepthwiseConv2D' };

function group(name: string, inShapes: (number[] | null)[], outShapes: (number[] | null)[]): string | null {
  const cat = kernelCategory(KERNEL_OF_SCOPE[name] ?? name, inShapes, outShapes);
  if (cat === null) return null;
  if (GROUPS[cat]) return GROUPS[cat];
  if (name === 'Shape' || inShapes.every((s) => s === null || s.length <= 1)) return SHAPE;
  // bench's own names (LayerNorm, Erf GELU, elementwise, Reshape, Transpose, embedding), except its
  // catch-all per op name, which would make one row per rare op.
  return cat.startsWith('other (') ? OTHER : cat;
}

/** CPU µs of one trivial op: what every kernel call pays before doing any work. */
function dispatchCost(): number {
  const a = tf.tensor1d([1]);
  const b = tf.tensor1d([2]);
  for (let i = 0; i < 200; i++) tf.add(a, b).dispose();
  const n = 3000;
  const c0 = cpuNowMs();
  for (let i = 0; i < n; i++) tf.add(a, b).dispose();
  const us = ((cpuNowMs() - c0) * 1000) / n;
  tf.dispose([a, b]);
  return us;
}

/** Top-level kernels by group; the merge op's kernels count as the merge; the rest of the run is "outside kernels". */
function byGroup(run: KernelRun): { total: number; byGroup: Map<string, { ms: number; n: number }>; kernels: number } {
  const groups = new Map<string, { ms: number; n: number }>();
  const add = (g: string, ms: number, n: number) => {
    const e = groups.get(g) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += n;
    groups.set(g, e);
  };
  let kernelMs = 0;
  let kernels = 0;
  for (const k of run.kernels) {
    if (k.nested) continue;
    const g = group(k.name, k.inputShapes, k.outputShapes);
    if (g === null) continue;
    kernels++;
    if (k.inMerge) {
      add(MERGE, 0, 1); // its time is in mergeMs
      continue;
    }
    kernelMs += k.ms;
    add(g, k.ms, 1);
  }
  if (run.merges) add(MERGE, run.mergeMs, 0);
  add(OUTSIDE, run.cpuMs - kernelMs - run.mergeMs, 0);
  return { total: run.cpuMs, byGroup: groups, kernels };
}

async function profile(req: Extract<Request, { cmd: 'profile' }>): Promise<ProfileReply> {
  const runner = runners[req.variant] as TfjsRunner;
  const cpu: number[] = [];
  const profiles: ReturnType<typeof byGroup>[] = [];
  for (let i = 0; i < req.runs; i++) {
    cpu.push((await timeOnce(() => runner.run(req.batch))).cpuMs);
    profiles.push(byGroup(await profileKernels(() => runner.forward(req.batch))));
  }
  const groups = new Set(profiles.flatMap((p) => [...p.byGroup.keys()]));
  return {
    runs: req.runs,
    cpuMs: median(cpu),
    profiledCpuMs: median(profiles.map((p) => p.total)),
    kernels: profiles[0].kernels,
    dispatchUsPerOp: dispatchCost(),
    categories: [...groups]
      .map((g) => ({ category: g, ms: median(profiles.map((p) => p.byGroup.get(g)?.ms ?? 0)), kernels: profiles[0].byGroup.get(g)?.n ?? 0 }))
      .sort((a, b) => b.ms - a.ms),
  };
}

// ---------------------------------------------------------------------------------------------

async function handle(req: Request): Promise<unknown> {
  switch (req.cmd) {
    case 'load':
      return load(req);
    case 'run':
      return run(req);
    case 'profile':
      return profile(req);
    case 'unload':
      return unload();
  }
}

// Requests arrive one at a time (the parent awaits each reply), so no queue is needed.
process.on('message', (req: Request) => {
  handle(req).then(
    (value) => process.send!({ ok: true, value } satisfies Reply),
    (e: unknown) => process.send!({ ok: false, error: e instanceof Error ? e.message : String(e) } satisfies Reply),
  );
});
