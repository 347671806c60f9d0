// tensorflow-backend (tfjs-node) kernels: each runs the native Turbo op (native/ops, loaded by
// src/native/op_library.ts) as one TensorFlow eager op through the backend's own op execution,
// like tfjs-node's built-in kernels, instead of the dozen small ops and the read-back of the
// composite. Registered by registerTurboOps() only when the tensorflow backend exists and the
// library loaded.
import { KernelConfig, KernelFunc, TensorInfo, findBackendFactory } from '@tensorflow/tfjs-core';
import { loadTurboOpLibrary } from '../../../native/op_library';
import {
  MERGE_GRAPH_ATTRS,
  TurboMerge,
  TurboMergeAttrs,
  TurboMergeInputs,
  TurboPropAttnBias,
  TurboPropAttnBiasInputs,
  TurboUnmerge,
  TurboUnmergeInputs,
} from '../../kernel_names';

/** The part of tfjs-node's NodeJSKernelBackend used here (tfjs-node is optional: no type import). */
interface NodeBackend {
  binding: { TF_ATTR_INT: number; TF_ATTR_FLOAT: number };
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: TensorInfo[], numOutputs: number): TensorInfo[];
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: TensorInfo[]): TensorInfo;
}

interface OpAttr {
  name: string;
  type: number;
  value: number;
}

const turboMerge: KernelFunc = ({ inputs, backend, attrs }) => {
  const tf = backend as unknown as NodeBackend;
  const { x, metric, clsAttn, size } = inputs as TurboMergeInputs & { size?: TensorInfo };
  const a = attrs as unknown as TurboMergeAttrs;
  const int = (name: string, value: number): OpAttr => ({ name, type: tf.binding.TF_ATTR_INT, value });
  const float = (name: string, value: number): OpAttr => ({ name, type: tf.binding.TF_ATTR_FLOAT, value });
  // The TF op's optional size is a list input of N <= 1 tensors (native/ops/turbo_ops.cc).
  const opAttrs = [int('N', size ? 1 : 0), ...MERGE_GRAPH_ATTRS.map(({ key, name, kind }) => (kind === 'int' ? int : float)(name, a[key]))];
  return tf.executeMultipleOutputs(TurboMerge, opAttrs, size ? [x, metric, clsAttn, size] : [x, metric, clsAttn], 3);
};

const turboUnmerge: KernelFunc = ({ inputs, backend }) => {
  const { y, assignment } = inputs as TurboUnmergeInputs;
  return (backend as unknown as NodeBackend).executeSingleOutput(TurboUnmerge, [], [y, assignment]);
};

const turboPropAttnBias: KernelFunc = ({ inputs, backend }) => {
  const { size } = inputs as TurboPropAttnBiasInputs;
  return (backend as unknown as NodeBackend).executeSingleOutput(TurboPropAttnBias, [], [size]);
};

/** All three kernels, registered or not (unregisterFusedKernels removes whichever are). */
export const tensorflowKernels: KernelConfig[] = [
  { kernelName: TurboMerge, backendName: 'tensorflow', kernelFunc: turboMerge },
  { kernelName: TurboUnmerge, backendName: 'tensorflow', kernelFunc: turboUnmerge },
  { kernelName: TurboPropAttnBias, backendName: 'tensorflow', kernelFunc: turboPropAttnBias },
];

/**
 * The kernels to register now: all three once tfjs-node is loaded (its backend is registered) and
 * the op library loaded into it; none otherwise, so the composite path runs. Never loads tfjs-node
 * itself: importing tfjs-turbo must not switch anyone's default backend.
 */
export function availableTensorflowKernels(): KernelConfig[] {
  if (!findBackendFactory('tensorflow')) return [];
  return loadTurboOpLibrary().loaded ? tensorflowKernels : [];
}
