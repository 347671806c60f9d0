// tensorflow-backend (tfjs-node) TurboUnmerge: the native op as one TensorFlow eager op.
import { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { TurboUnmerge, TurboUnmergeInputs } from '../../kernel_names';
import { NodeBackend } from './node_backend';

const turboUnmerge: KernelFunc = ({ inputs, backend }) => {
  const { y, assignment } = inputs as TurboUnmergeInputs;
  return (backend as unknown as NodeBackend).executeSingleOutput(TurboUnmerge, [], [y, assignment]);
};

export const turboUnmergeConfig: KernelConfig = { kernelName: TurboUnmerge, backendName: 'tensorflow', kernelFunc: turboUnmerge };
