// The one per-kernel profiler (bench on wasm, bench-native's workers on tfjs-node): tf.profile of
// one forward pass, with kernel times as CPU time, nested kernels marked, and the TurboMerge graph
// op timed whole; plus the readable kernel categories both report in.

import * as tf from '@tensorflow/tfjs-core';
import { deregisterOp, registerOp } from '@tensorflow/tfjs-converter';
import type { GraphNode } from '@tensorflow/tfjs-converter';
import { TurboMerge } from '../../src/ops/kernel_names';
import { mergeNode } from '../../src/ops/register';
import { Sample, cpuNowMs, timeOnce } from '../../src/runtime/timing';

export interface ProfiledKernel {
  name: string;
  inputShapes: (number[] | null)[];
  outputShapes: (number[] | null)[];
  /** CPU ms inside the kernel call (0 where tfjs reported an error). */
  ms: number;
  /** Ran inside another recorded kernel (its time is in the outer one's too). */
  nested: boolean;
  /** Ran inside the TurboMerge graph op (its time is in mergeMs too). */
  inMerge: boolean;
}

export interface KernelRun {
  /** The profiled run as a whole (profiling adds bookkeeping per kernel). */
  wallMs: number;
  cpuMs: number;
  /** Every entry tf.profile recorded, in its order. */
  kernels: ProfiledKernel[];
  /** CPU ms of the TurboMerge graph ops, each timed whole (matching, read-back and the kernels it runs). */
  mergeMs: number;
  merges: number;
}

interface ActiveProfile {
  kernels: unknown[];
}

/**
 * One profiled forward pass. The backend's timer is swapped for process CPU time while profiling,
 * so that other jobs on a shared machine do not inflate kernel times. Kernels nest (tfjs records an
 * op-level scope around some kernels, fusedMatMul__op around _FusedMatMul; on tfjs-node a kernel runs
 * further kernels) and tf.profile lists every level, inner first: the timer is called once per
 * entry, in the same order, so it records which entries ran inside another one. The TurboMerge
 * graph op is not a kernel: its executor is wrapped to time it whole and to mark the kernels it runs.
 */
export async function profileKernels(forward: () => Promise<tf.Tensor>): Promise<KernelRun> {
  const backend = tf.backend() as unknown as { time: (f: () => void) => Promise<{ kernelMs: number }> };
  const own = Object.prototype.hasOwnProperty.call(backend, 'time');
  const saved = backend.time;
  const nested: boolean[] = [];
  let depth = 0;
  backend.time = async (f) => {
    const outer = depth++ === 0;
    const c0 = cpuNowMs();
    try {
      f();
    } finally {
      depth--;
    }
    nested.push(!outer);
    return { kernelMs: cpuNowMs() - c0 };
  };
  const state = (tf.engine() as unknown as { state: { activeProfile: ActiveProfile } }).state;
  const mergeSpans: [number, number][] = [];
  let mergeMs = 0;
  deregisterOp(TurboMerge);
  registerOp(TurboMerge, (node: GraphNode) => {
    const k0 = state.activeProfile.kernels.length;
    const c0 = cpuNowMs();
    const out = mergeNode(node);
    mergeMs += cpuNowMs() - c0;
    mergeSpans.push([k0, state.activeProfile.kernels.length]);
    return out as tf.Tensor[];
  });
  let profiled: Sample & { value: Awaited<ReturnType<typeof tf.profile>> };
  try {
    profiled = await timeOnce(() =>
      tf.profile(async () => {
        const out = await forward();
        await out.data();
        out.dispose();
      }),
    );
  } finally {
    deregisterOp(TurboMerge);
    registerOp(TurboMerge, mergeNode);
    if (own) backend.time = saved;
    else delete (backend as { time?: unknown }).time;
  }
  const { value: info, wallMs, cpuMs } = profiled;
  if (nested.length !== info.kernels.length) throw new Error(`profile: ${info.kernels.length} kernels but ${nested.length} timer calls; cannot tell nested kernels apart`);
  const inMerge = (i: number) => mergeSpans.some(([a, b]) => i >= a && i < b);
  const kernels = info.kernels.map((k, i) => ({
    name: k.name,
    inputShapes: k.inputShapes as (number[] | null)[],
    outputShapes: k.outputShapes as (number[] | null)[],
    ms: typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0,
    nested: nested[i],
    inMerge: inMerge(i),
  }));
  return { wallMs, cpuMs, kernels, mergeMs, merges: mergeSpans.length };
}

// ---------------------------------------------------------------------------------------------
// Kernel categories

export const CAT = {
  dense: 'dense matmuls (qkv, proj, fc1, fc2, head)',
  attn: 'attention matmuls (QKᵀ, PV)',
  softmax: 'Softmax',
  attnElem: 'attention scale (Mul on [B, H, N, N])',
  erf: 'GELU Erf',
  layerNorm: 'LayerNorm statistics (Mean, Sub, SquaredDifference, Rsqrt)',
  elem: 'elementwise Add / Mul (bias, residual, LayerNorm affine, GELU)',
  transpose: 'Transpose',
  reshape: 'Reshape',
  shape: 'shape ops (StridedSlice, Concat on shape vectors)',
  embedding: 'embedding (Conv, Tile, Concat, head slice)',
  merge: 'Turbo: TurboMerge kernel',
  metric: 'Turbo: metric Mean over heads of k',
  clsSlice: 'Turbo: class-attention row StridedSlice',
  clsMean: 'Turbo: class-attention Mean over heads',
  propLog: 'Turbo: prop-attn log(size) kernel',
  propAdd: 'Turbo: prop-attn Add (logits + log size)',
};

/**
 * A readable category for one profiled kernel, from its name and shapes; null for the wrappers
 * tfjs also records around a kernel (`fusedMatMul__op` contains `_FusedMatMul`: counting both would
 * count it twice).
 */
export function kernelCategory(name: string, inShapes: (number[] | null)[], outShapes: (number[] | null)[]): string | null {
  if (name.endsWith('__op')) return null;
  const in0 = inShapes[0] ?? [];
  const in1 = inShapes[1] ?? [];
  const out0 = outShapes[0] ?? [];
  switch (name) {
    case 'BatchMatMul':
    case '_FusedMatMul':
    case 'MatMul':
      // Dense layers multiply by a 2-D weight [C, C']; attention multiplies [B, H, N, ·] activations.
      return in1.length >= 4 || (in1.length === 3 && in1[0] > 1) ? CAT.attn : CAT.dense;
    case 'Softmax':
      return CAT.softmax;
    case 'TurboMerge':
      return CAT.merge;
    case 'TurboPropAttnBias':
    case 'Log':
      return CAT.propLog;
    case 'Mean':
      if (in0.length === 4) return CAT.metric;
      if (out0.length === 2) return CAT.clsMean;
      return CAT.layerNorm;
    case 'Sub':
    case 'SquaredDifference':
    case 'Rsqrt':
      return CAT.layerNorm;
    case 'StridedSlice':
      if (in0.length === 4) return CAT.clsSlice;
      if (in0.length <= 1) return CAT.shape;
      return CAT.embedding;
    case 'Concat':
      return in0.length <= 1 ? CAT.shape : CAT.embedding;
    case 'Add':
      if (in0.length === 4 && in1.length === 4 && in1[1] === 1 && in1[2] === 1) return CAT.propAdd;
      return in0.length === 4 ? CAT.attnElem : CAT.elem;
    case 'Multiply':
    case 'RealDiv':
      return in0.length === 4 ? CAT.attnElem : CAT.elem;
    case 'Erf':
      return CAT.erf;
    case 'Transpose':
      return CAT.transpose;
    case 'Reshape':
      return CAT.reshape;
    case 'Conv2D':
    case 'FusedConv2D':
    case 'Tile':
      return CAT.embedding;
    default:
      return `other (${name})`;
  }
}
