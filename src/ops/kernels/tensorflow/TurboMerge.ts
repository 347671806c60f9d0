// tensorflow-backend (tfjs-node) TurboMerge: the native op (native/ops, loaded by
// src/native/op_library.ts) run as one TensorFlow eager op through the backend's own op execution,
// like tfjs-node's built-in kernels, instead of the dozen small ops and the read-back of the composite.
import { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { MERGE_GRAPH_ATTRS, TurboMerge, TurboMergeAttrs, TurboMergeInputs } from '../../kernel_names';
import { NodeBackend, OpAttr } from './node_backend';

const turboMerge: KernelFunc = ({ inputs, backend, attrs }) => {
  const tf = backend as unknown as NodeBackend;
  const { x, metric, clsAttn, size } = inputs as TurboMergeInputs & { size?: TensorInfo };
  const a = attrs as unknown as TurboMergeAttrs;
  const int = (name: string, value: number): OpAttr => ({ name, type: tf.binding.TF_ATTR_INT, value });
  const float = (name: string, value: number): OpAttr => ({ name, type: tf.binding.TF_ATTR_FLOAT, value });
  // The TF op's optional size is a list input of N <= 1 tensors (native/ops/turbo_ops.cc).
  // An attr at the op's default is not passed (TF fills it in): the default choices then also run
  // on an op library built before the score attrs existed.
  const given = MERGE_GRAPH_ATTRS.filter(({ key, omitAt }) => a[key] !== undefined && a[key] !== omitAt);
  const opAttrs = [int('N', size ? 1 : 0), ...given.map(({ key, name, kind }) => (kind === 'int' ? int : float)(name, a[key] as number))];
  return tf.executeMultipleOutputs(TurboMerge, opAttrs, size ? [x, metric, clsAttn, size] : [x, metric, clsAttn], 3);
};

export const turboMergeConfig: KernelConfig = { kernelName: TurboMerge, backendName: 'tensorflow', kernelFunc: turboMerge };
