// One call that makes Turbo models runnable: the fused kernels (cpu, wasm) with registerKernel,
// and the graph ops (TurboMerge, TurboPropAttnBias, TurboUnmerge, TurboDropTokens) with registerOp, so
// tf.loadGraphModel can execute a model.json written by convert-with-turbo. Idempotent.
// Browser-safe: nothing here touches Node. Kernels that need Node (the tensorflow backend's
// native op library) join through addKernelSource from src/ops/register.ts, the Node module.
import * as tf from '@tensorflow/tfjs-core';
import { registerOp } from '@tensorflow/tfjs-converter';
import type { GraphNode } from '@tensorflow/tfjs-converter';
import { TurboDropTokens, TurboMerge, TurboMergeAttrs, TurboPropAttnBias, TurboUnmerge, decodeMergeAttrs } from './kernel_names';
import { cpuKernels } from './kernels/cpu/turbo_merge';
import { wasmKernels } from './kernels/wasm/turbo_merge';
import { checkMergeInputs, mergeAttrs, runMerge } from './turbo_merge';
import { proportionalAttentionBias } from './prop_attn_bias';
import { turboUnmerge } from './turbo_unmerge';
import { decodeDropAttrs, dropTokens } from './drop_tokens';

/** A set of fused kernels: the ones usable now (registered) and all it may have registered (removed). */
export interface KernelSource {
  available(): readonly tf.KernelConfig[];
  all: readonly tf.KernelConfig[];
}

const jsKernels = [...cpuKernels, ...wasmKernels];
const sources: KernelSource[] = [{ available: () => jsKernels, all: jsKernels }];

/** Adds kernels that registerFusedKernels registers and unregisterFusedKernels removes (once per source). */
export function addKernelSource(source: KernelSource): void {
  if (!sources.includes(source)) sources.push(source);
}

let registered = false;

export interface RegisterOptions {
  /** Register the fused cpu/wasm kernels (default true). Off: every backend runs the composite ops. */
  fusedKernels?: boolean;
}

export function registerTurboOps(options: RegisterOptions = {}): void {
  if (options.fusedKernels ?? true) registerFusedKernels();
  if (registered) return;
  registered = true;
  registerOp(TurboMerge, mergeNode);
  registerOp(TurboPropAttnBias, (node: GraphNode) => proportionalAttentionBias(node.inputs[0]));
  registerOp(TurboUnmerge, (node: GraphNode) => turboUnmerge(node.inputs[0], node.inputs[1]));
  registerOp(TurboDropTokens, dropNode);
}

/** The TurboDropTokens graph-op executor (src/rewrite/text_drop.ts writes these nodes). */
function dropNode(node: GraphNode): tf.Tensor[] {
  const [probs, tokens, mask, reference] = node.inputs;
  const attrs = decodeDropAttrs((name) => node.attrs[name]);
  const out = dropTokens(probs as tf.Tensor4D, tokens as tf.Tensor3D, mask, reference.shape[1] ?? 0, attrs);
  return [out.tokens, out.mask, out.kept];
}

/** The cpu and wasm kernels, and those of any added source (in Node: the tensorflow backend's native ops). */
export function registerFusedKernels(): void {
  for (const s of sources) {
    for (const k of s.available()) if (!tf.getKernel(k.kernelName, k.backendName)) tf.registerKernel(k);
  }
}

/** Removes the fused kernels, so tests and benchmarks can run the composite path on cpu/wasm. */
export function unregisterFusedKernels(): void {
  for (const s of sources) {
    for (const k of s.all) if (tf.getKernel(k.kernelName, k.backendName)) tf.unregisterKernel(k.kernelName, k.backendName);
  }
}

/**
 * The TurboMerge graph-op executor. Node attrs use the TF snake_case names written by the rewriter
 * (src/rewrite/pass.ts). Exported so scripts/bench_native can wrap it to time the op whole.
 */
export function mergeNode(node: GraphNode): tf.Tensor[] {
  const decoded = decodeMergeAttrs((name) => node.attrs[name] as number | undefined);
  const attrs: TurboMergeAttrs = mergeAttrs({ ...decoded, r: decoded.r as number });
  const [x, metric, clsAttn, size] = node.inputs;
  checkMergeInputs(x, metric, clsAttn, size ?? null);
  const out = runMerge(x as tf.Tensor3D, metric as tf.Tensor3D, clsAttn as tf.Tensor2D, (size as tf.Tensor2D) ?? null, attrs);
  return [out.x, out.size, out.assignment];
}
