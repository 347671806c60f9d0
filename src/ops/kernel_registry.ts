// Turbo kernels in tfjs's kernel registry. Each backend gets one KernelConfig per Turbo op: its
// fused kernel where src/ops/kernels/<backend>/ has one that runs in this process, else the
// composite (src/ops/kernels/composite: tfjs ops only, so any backend runs it). tfjs keys kernels
// by backend name, so a backend registered after this runs (tfjs-node loaded by useBackend, webgpu
// imported later) gets its kernels from registerTurboKernels(name), which the ops also call when
// they find none (run_kernel.ts). A Turbo kernel registered by someone else is left in place.
import * as tf from '@tensorflow/tfjs-core';
import { compositeKernels } from './kernels/composite/register_all';
import { cpuKernels } from './kernels/cpu/register_all';
import { wasmKernels } from './kernels/wasm/register_all';
import { webglKernels } from './kernels/webgl/register_all';
import { webgpuKernels } from './kernels/webgpu/register_all';

/** One backend's fused kernels: src/ops/kernels/<backend>/register_all.ts. */
export interface BackendKernels {
  backendName: string;
  /** Its kernels, or none where they cannot run in this process (tensorflow's without the op library). */
  available(): readonly tf.KernelConfig[];
  /**
   * Kernels of tfjs's own ops that replace the backend's while the fused kernels are on, each built
   * around the kernel it replaces (and handing it what it does not handle itself).
   */
  replacements?: readonly KernelReplacement[];
}

export interface KernelReplacement {
  kernelName: string;
  wrap(own: tf.KernelConfig): tf.KernelConfig;
}

/** A kernel made of tfjs ops, registered under every backend name that has no fused one. */
export type CompositeKernel = Omit<tf.KernelConfig, 'backendName'>;

/** The backends with fused kernels. Browser-safe ones are listed here; Node-only ones join through addBackendKernels (src/ops/register.ts). */
const fusedBackends: BackendKernels[] = [cpuKernels, wasmKernels, webglKernels, webgpuKernels];

let fusedEnabled = true;

/** The kernels this module registered, by kernelName/backendName: a kernel found there that is not one of these is someone else's. */
const ours = new Map<string, tf.KernelConfig>();

/** Replacements in place, by kernelName/backendName: ours and the kernel it wraps (put back by unregisterFusedKernels). */
const replaced = new Map<string, { ours: tf.KernelConfig; own: tf.KernelConfig }>();

/** Adds a backend's fused kernels (once); they are registered by the next registration. */
export function addBackendKernels(kernels: BackendKernels): void {
  if (!fusedBackends.includes(kernels)) fusedBackends.push(kernels);
}

/**
 * Registers the Turbo kernels for `backendName`, or for every backend tfjs has registered: fused
 * where available (and not switched off by unregisterFusedKernels), the composite otherwise. Call it
 * for a backend registered after tfjs-turbo was imported; the ops do when they find no kernel.
 */
export function registerTurboKernels(backendName?: string): void {
  const backends = backendName === undefined ? knownBackends() : [backendName];
  for (const b of backends) registerFor(b);
}

/**
 * Fused kernels wherever a backend has them (the default), with the replacements of tfjs's own
 * kernels that go with them (webgpu's Mean for means over a few values: kernels/webgpu/small_mean.ts).
 */
export function registerFusedKernels(): void {
  fusedEnabled = true;
  registerTurboKernels();
}

/**
 * The composite kernels in place of the fused ones on every backend, so tests and benchmarks can run
 * the composite path on cpu/wasm; tfjs's own kernels back where the fused set replaced them.
 */
export function unregisterFusedKernels(): void {
  fusedEnabled = false;
  registerTurboKernels();
}

/** Whether `kernelName` on `backendName` runs something other than the composite: a fused kernel, ours or an app's. */
export function hasFusedKernel(kernelName: string, backendName: string): boolean {
  const kernel = tf.getKernel(kernelName, backendName);
  return kernel !== undefined && !compositeKernels.some((c) => c.kernelFunc === kernel.kernelFunc);
}

/** tfjs's registered backends, and any this module registered kernels for (one may have been removed since). */
function knownBackends(): string[] {
  const names = new Set(Object.keys(tf.engine().registryFactory));
  for (const k of ours.values()) names.add(k.backendName);
  return [...names];
}

function registerFor(backendName: string): void {
  const fused = fusedEnabled ? fusedBackends.filter((s) => s.backendName === backendName).flatMap((s) => s.available()) : [];
  for (const composite of compositeKernels) {
    const { kernelName } = composite;
    const want = fused.find((k) => k.kernelName === kernelName) ?? { ...composite, backendName };
    const key = `${kernelName}/${backendName}`;
    const current = tf.getKernel(kernelName, backendName);
    if (current && current.kernelFunc !== ours.get(key)?.kernelFunc) continue;
    if (current?.kernelFunc === want.kernelFunc) continue;
    if (current) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel(want);
    ours.set(key, want);
  }
  for (const rep of fusedBackends.filter((s) => s.backendName === backendName).flatMap((s) => s.replacements ?? [])) replace(rep, backendName);
}

/**
 * Puts `rep` in place of the backend's kernel while the fused kernels are on, the backend's back
 * otherwise. A backend whose own kernel is not registered yet is left alone: registering first
 * would make tfjs warn when the backend registers its own, which would then win anyway.
 */
function replace(rep: KernelReplacement, backendName: string): void {
  const key = `${rep.kernelName}/${backendName}`;
  const current = tf.getKernel(rep.kernelName, backendName);
  if (!current) return;
  const mine = replaced.get(key);
  const isOurs = mine !== undefined && current.kernelFunc === mine.ours.kernelFunc;
  if (fusedEnabled === isOurs) return;
  tf.unregisterKernel(rep.kernelName, backendName);
  if (isOurs) {
    tf.registerKernel(mine.own);
    replaced.delete(key);
  } else {
    const wrapped = rep.wrap(current);
    tf.registerKernel(wrapped);
    replaced.set(key, { ours: wrapped, own: current });
  }
}
