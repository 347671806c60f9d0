// Fused webgl TurboMerge: the whole merge as GLSL programs (merge_programs.ts), nothing read back
// to the CPU. Output shapes follow from N and the attrs alone (merge_plan.ts), so every step is
// enqueued without waiting for the GPU. The programs need WebGL 2 (integer ops, floatBitsToUint,
// loops bounded by uniforms); on WebGL 1 the composite kernel runs instead.
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { TurboMerge, TurboMergeAttrs, TurboMergeInputs } from '../../kernel_names';
import { turboMergeKernel } from '../composite/TurboMerge';
import { MergePlan, MergePrograms, identityMerge, isTurboMean, mergePlan, runMergePrograms } from '../merge_plan';
import { AssignProgram, BaseProgram, CosinesProgram, GatherMergeProgram, InvNormsProgram, LinksProgram, MatchProgram, RankProgram } from './merge_programs';
import { TurboWebGLProgram, planUniformValues } from './program';
import { withUnpacked } from './unpack';

const turboMerge: tf.KernelFunc = (args) => {
  // The GLSL programs compute Turbo's score and the mean; PiToMe and MLERP run the composite kernel
  // (matching read back to src/turbo/merge.ts, the merge as tfjs ops on the GPU).
  if (tf.env().getNumber('WEBGL_VERSION') < 2 || !isTurboMean(args.attrs as unknown as TurboMergeAttrs)) return turboMergeKernel.kernelFunc(args);
  const { inputs, backend, attrs } = args;
  const gl = backend as MathBackendWebGL;
  const given = inputs as TurboMergeInputs & { size?: tf.TensorInfo };
  const plan = mergePlan(given.x.shape, given.metric.shape[2], attrs as unknown as TurboMergeAttrs);
  if (plan.r === 0) return identityMerge(gl, given.x, given.size);
  const ordered = [given.x, given.metric, given.clsAttn, ...(given.size ? [given.size] : [])];
  return withUnpacked(gl, ordered, ([x, metric, clsAttn, size]) => merge(gl, plan, x, metric, clsAttn, size));
};

const PROGRAMS: MergePrograms<TurboWebGLProgram> = {
  invNorms: (shape) => new InvNormsProgram(shape),
  cosines: (shape) => new CosinesProgram(shape),
  // One output element per source already: the invocation count is the shape's.
  match: (shape) => new MatchProgram(shape),
  rank: (shape) => new RankProgram(shape),
  assign: (shape) => new AssignProgram(shape),
  base: (shape) => new BaseProgram(shape),
  links: (shape) => new LinksProgram(shape),
  gather: (shape, sizes, hasSize) => new GatherMergeProgram(shape, sizes, hasSize),
};

function merge(gl: MathBackendWebGL, plan: MergePlan, x: tf.TensorInfo, metric: tf.TensorInfo, clsAttn: tf.TensorInfo, size?: tf.TensorInfo): tf.TensorInfo[] {
  const uniforms = planUniformValues(plan);
  return runMergePrograms(
    plan,
    PROGRAMS,
    (program, ins, dtype) => gl.runWebGLProgram(program, ins, dtype, uniforms),
    (t) => gl.disposeIntermediateTensorInfo(t),
    { x, metric, clsAttn, size },
  );
}

export const turboMergeConfig: tf.KernelConfig = { kernelName: TurboMerge, backendName: 'webgl', kernelFunc: turboMerge };
