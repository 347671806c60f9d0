// Fused webgpu TurboUnmerge: every input token gathers the row of the output token it went to.
import { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { TurboUnmerge, TurboUnmergeInputs } from '../../kernel_names';
import { TurboWebGPUProgram } from './program';

/** y [B, N', C], assignment [B, N] → [B, N, C]; shapes from the buffers' shape uniforms. */
class UnmergeProgram extends TurboWebGPUProgram {
  variableNames = ['y', 'assignment'];
  shaderKey = 'turboUnmerge';
  override uniforms = 'threads : i32,';
  body(): string {
    return `
      let C = uniforms.outShape.z;
      let n = uniforms.outShape.y;
      let b = t / (n * C);
      let i = (t / C) % n;
      let o = assignment[b * n + i];
      result[t] = y[(b * uniforms.yShape.y + o) * C + t % C];`;
  }
}

const turboUnmerge: KernelFunc = ({ inputs, backend }) => {
  const gpu = backend as WebGPUBackend;
  const { y, assignment } = inputs as TurboUnmergeInputs;
  const program = new UnmergeProgram([y.shape[0], assignment.shape[1], y.shape[2]]);
  return gpu.runWebGPUProgram(program, [y, assignment], 'float32', [{ type: 'int32', data: [program.threads] }]);
};

export const turboUnmergeConfig: KernelConfig = { kernelName: TurboUnmerge, backendName: 'webgpu', kernelFunc: turboUnmerge };
