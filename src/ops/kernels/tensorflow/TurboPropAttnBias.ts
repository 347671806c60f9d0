// tensorflow-backend (tfjs-node) TurboPropAttnBias: the native op as one TensorFlow eager op.
import { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { TurboPropAttnBias, TurboPropAttnBiasInputs } from '../../kernel_names';
import { NodeBackend } from './node_backend';

const turboPropAttnBias: KernelFunc = ({ inputs, backend }) => {
  const { size } = inputs as TurboPropAttnBiasInputs;
  return (backend as unknown as NodeBackend).executeSingleOutput(TurboPropAttnBias, [], [size]);
};

export const turboPropAttnBiasConfig: KernelConfig = { kernelName: TurboPropAttnBias, backendName: 'tensorflow', kernelFunc: turboPropAttnBias };
