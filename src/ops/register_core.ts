// One call that makes Turbo models runnable: the Turbo kernels for every registered backend
// (kernel_registry.ts: fused where there is one, the composite elsewhere) and the graph ops
// (TurboMerge, TurboPropAttnBias, TurboUnmerge, TurboDropTokens) with registerOp, so
// tf.loadGraphModel can execute a model.json written by convert-with-turbo. Idempotent.
// Browser-safe: nothing here touches Node. Kernels that need Node (the tensorflow backend's
// native op library) join through addBackendKernels from src/ops/register.ts, the Node module.
import * as tf from '@tensorflow/tfjs-core';
import { registerOp } from '@tensorflow/tfjs-converter';
import type { GraphNode } from '@tensorflow/tfjs-converter';
import { TurboDropTokens, TurboMerge, TurboMergeAttrs, TurboPropAttnBias, TurboUnmerge, decodeMergeAttrs } from './kernel_names';
import { registerFusedKernels, registerTurboKernels, unregisterFusedKernels } from './kernel_registry';
import { checkMergeInputs, mergeAttrs, runMerge } from './turbo_merge';
import { proportionalAttentionBias } from './prop_attn_bias';
import { turboUnmerge } from './turbo_unmerge';
import { decodeDropAttrs, dropTokens } from './drop_tokens';

let registered = false;

export interface RegisterOptions {
  /**
   * true: fused kernels wherever a backend has them (as on import); false: the composite on every
   * backend (unregisterFusedKernels). Unset keeps the current choice, so the registration that
   * loadTurboModel and friends do never undoes an app's. With the fused kernels on, webgpu's Mean
   * kernel is replaced too, for every model on the page: means over at most 16 values off the
   * innermost axis (a Turbo model's mean over heads) run as one invocation per output
   * (kernels/webgpu/small_mean.ts), the rest through tfjs's kernel; false puts tfjs's back.
   */
  fusedKernels?: boolean;
}

export function registerTurboOps(options: RegisterOptions = {}): void {
  if (options.fusedKernels === true) registerFusedKernels();
  else if (options.fusedKernels === false) unregisterFusedKernels();
  else registerTurboKernels();
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

/**
 * The TurboMerge graph-op executor. Node attrs use the TF snake_case names written by the rewriter
 * (src/rewrite/pass.ts). Exported so scripts/bench_native can wrap it to time the op whole.
 */
export function mergeNode(node: GraphNode): tf.Tensor[] {
  const decoded = decodeMergeAttrs((name) => node.attrs[name] as number | undefined);
  const attrs: TurboMergeAttrs = mergeAttrs({ ...decoded, r: decoded.r as number, merge: decoded.mergeMode });
  const [x, metric, clsAttn, size] = node.inputs;
  checkMergeInputs(x, metric, clsAttn, size ?? null, attrs.protectedTokens);
  const out = runMerge(x as tf.Tensor3D, metric as tf.Tensor3D, clsAttn as tf.Tensor2D, (size as tf.Tensor2D) ?? null, attrs);
  return [out.x, out.size, out.assignment];
}
