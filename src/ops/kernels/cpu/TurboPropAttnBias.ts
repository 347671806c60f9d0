// Fused cpu TurboPropAttnBias: log(size) written once, already in the broadcastable [B, 1, 1, N] layout.
import { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { logSizes } from '../../../turbo/merge';
import { TurboPropAttnBias, TurboPropAttnBiasInputs } from '../../kernel_names';
import { read } from './read';

const turboPropAttnBias: KernelFunc = ({ inputs, backend }) => {
  const cpu = backend as MathBackendCPU;
  const { size } = inputs as TurboPropAttnBiasInputs;
  const [batch, n] = size.shape;
  return cpu.makeTensorInfo([batch, 1, 1, n], 'float32', logSizes(read(cpu, size)));
};

export const turboPropAttnBiasConfig: KernelConfig = { kernelName: TurboPropAttnBias, backendName: 'cpu', kernelFunc: turboPropAttnBias };
