// Fused webgpu TurboPropAttnBias: log(size) written straight into the [B, 1, 1, N] layout.
import { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { TurboPropAttnBias, TurboPropAttnBiasInputs } from '../../kernel_names';
import { TurboWebGPUProgram } from './program';

class LogSizeProgram extends TurboWebGPUProgram {
  variableNames = ['size'];
  shaderKey = 'turboLogSize';
  override uniforms = 'threads : i32,';
  body(): string {
    return 'result[t] = log(size[t]);';
  }
}

const turboPropAttnBias: KernelFunc = ({ inputs, backend }) => {
  const gpu = backend as WebGPUBackend;
  const { size } = inputs as TurboPropAttnBiasInputs;
  const [batch, n] = size.shape;
  const program = new LogSizeProgram([batch, 1, 1, n]);
  return gpu.runWebGPUProgram(program, [size], 'float32', [{ type: 'int32', data: [program.threads] }]);
};

export const turboPropAttnBiasConfig: KernelConfig = { kernelName: TurboPropAttnBias, backendName: 'webgpu', kernelFunc: turboPropAttnBias };
