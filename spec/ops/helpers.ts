// Shared helpers for the op specs: backends, the fused/composite switch, the official merge cases.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { hasFusedKernel, registerFusedKernels, unregisterFusedKernels } from '../../src/ops/register';
import { TurboMerge } from '../../src/ops/kernel_names';
import { JS_BACKENDS } from '../helpers/backends';

/** The backends every op spec runs on (tfjs' describeWithFlags(ALL_ENVS) in spirit): spec/helpers/backends.ts's list. */
export const BACKENDS = JS_BACKENDS;

/** 'fused': the cpu/wasm kernels registered by registerFusedKernels; 'composite': the kernel made of tfjs core ops. */
export const PATHS = ['fused', 'composite'] as const;
export type KernelPath = (typeof PATHS)[number];

/** The kernel paths a backend has: fused kernels exist for cpu and wasm only, every other backend runs the composite. */
export function pathsFor(backend: string): readonly KernelPath[] {
  return backend === 'cpu' || backend === 'wasm' ? PATHS : ['composite'];
}

/** Registers the fused or the composite kernels, and checks the switch took effect for the active backend. */
export function useKernelPath(p: KernelPath): void {
  if (p === 'fused') registerFusedKernels();
  else unregisterFusedKernels();
  const has = hasFusedKernel(TurboMerge, tf.getBackend());
  if (has !== (p === 'fused')) throw new Error(`kernel path ${p} not in effect on ${tf.getBackend()}`);
}

/** Runs f on the composite path, restoring the fused kernels afterwards. */
export function withComposite<T>(f: () => T): T {
  unregisterFusedKernels();
  try {
    return f();
  } finally {
    registerFusedKernels();
  }
}

export type { MergeCase } from './merge_case';

export function loadMergeCases(): import('./merge_case').MergeCase[] {
  const file = path.join(__dirname, '..', 'fixtures', 'parity', 'merge-cases.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).cases;
}

/** The PiToMe and MLERP cases recorded from official code (spec/fixtures/parity/pitome-cases.json). */
export function loadPitomeCases(): import('./pitome_case').PitomeCase[] {
  const file = path.join(__dirname, '..', 'fixtures', 'parity', 'pitome-cases.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).cases;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Row-wise comparison (token order included): the first row (b, token) that differs by more than tol. */
export function firstRowMismatch(actual: number[][][], expected: number[][][], tol: number): string | null {
  if (actual.length !== expected.length) return `batch ${actual.length} vs ${expected.length}`;
  for (let b = 0; b < expected.length; b++) {
    if (actual[b].length !== expected[b].length) return `batch ${b}: ${actual[b].length} tokens vs ${expected[b].length}`;
    for (let t = 0; t < expected[b].length; t++) {
      if (maxAbsDiff(actual[b][t], expected[b][t]) > tol) {
        return `batch ${b} token ${t}: [${actual[b][t]}] vs expected [${expected[b][t]}]`;
      }
    }
  }
  return null;
}

/** Counts live tensors around f, so specs can check nothing leaks. */
export function leakedTensors(f: () => void): number {
  const before = tf.memory().numTensors;
  f();
  return tf.memory().numTensors - before;
}
