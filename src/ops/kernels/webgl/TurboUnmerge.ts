// Fused webgl TurboUnmerge: every input token gathers the row of the output token it went to.
import * as tf from '@tensorflow/tfjs-core';
import type { GPGPUProgram, MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { TurboUnmerge, TurboUnmergeInputs } from '../../kernel_names';
import { withUnpacked } from './unpack';

/** y [B, N', C], assignment [B, N] → [B, N, C]. Shape uniforms: one shader for every N. */
class UnmergeProgram implements GPGPUProgram {
  variableNames = ['y', 'assignment'];
  enableShapeUniforms = true;
  userCode = `
    void main() {
      ivec3 at = getOutputCoords();
      setOutput(getY(at.x, int(getAssignment(at.x, at.y)), at.z));
    }`;
  constructor(public outputShape: number[]) {}
}

const turboUnmerge: tf.KernelFunc = ({ inputs, backend }) => {
  const gl = backend as MathBackendWebGL;
  const { y, assignment } = inputs as TurboUnmergeInputs;
  const program = new UnmergeProgram([y.shape[0], assignment.shape[1], y.shape[2]]);
  return withUnpacked(gl, [y, assignment], (ins) => gl.runWebGLProgram(program, ins, 'float32'));
};

export const turboUnmergeConfig: tf.KernelConfig = { kernelName: TurboUnmerge, backendName: 'webgl', kernelFunc: turboUnmerge };
