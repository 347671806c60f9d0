// Fused webgl TurboPropAttnBias: log(size) written straight into the [B, 1, 1, N] layout.
import * as tf from '@tensorflow/tfjs-core';
import type { GPGPUProgram, MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { TurboPropAttnBias, TurboPropAttnBiasInputs } from '../../kernel_names';
import { withUnpacked } from './unpack';

/** Shape uniforms: one shader for every N. */
class LogSizeProgram implements GPGPUProgram {
  variableNames = ['size'];
  enableShapeUniforms = true;
  userCode = `
    void main() {
      ivec4 at = getOutputCoords();
      setOutput(log(getSize(at.x, at.w)));
    }`;
  constructor(public outputShape: number[]) {}
}

const turboPropAttnBias: tf.KernelFunc = ({ inputs, backend }) => {
  const gl = backend as MathBackendWebGL;
  const { size } = inputs as TurboPropAttnBiasInputs;
  const [batch, n] = size.shape;
  return withUnpacked(gl, [size], (ins) => gl.runWebGLProgram(new LogSizeProgram([batch, 1, 1, n]), ins, 'float32'));
};

export const turboPropAttnBiasConfig: tf.KernelConfig = { kernelName: TurboPropAttnBias, backendName: 'webgl', kernelFunc: turboPropAttnBias };
