// Fused webgl TurboMerge: the whole merge as GLSL programs (merge_programs.ts), nothing read back
// to the CPU. Output shapes follow from N and the attrs alone (merge_plan.ts), so every step is
// enqueued without waiting for the GPU. The programs need WebGL 2 (integer ops, floatBitsToUint,
// loops bounded by uniforms); on WebGL 1 the composite kernel runs instead.
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { TurboMerge, TurboMergeAttrs, TurboMergeInputs } from '../../kernel_names';
import { turboMergeKernel } from '../composite/TurboMerge';
import { MergePlan, identityMerge, mergePlan, mergeShapes } from '../merge_plan';
import { AssignProgram, BaseProgram, CosinesProgram, GatherMergeProgram, InvNormsProgram, LinksProgram, MatchProgram, RankProgram } from './merge_programs';
import { TurboWebGLProgram, planUniformValues } from './program';
import { withUnpacked } from './unpack';

const turboMerge: tf.KernelFunc = (args) => {
  if (tf.env().getNumber('WEBGL_VERSION') < 2) return turboMergeKernel.kernelFunc(args);
  const { inputs, backend, attrs } = args;
  const gl = backend as MathBackendWebGL;
  const given = inputs as TurboMergeInputs & { size?: tf.TensorInfo };
  const plan = mergePlan(given.x.shape, given.metric.shape[2], attrs as unknown as TurboMergeAttrs);
  if (plan.r === 0) return identityMerge(gl, given.x, given.size);
  const ordered = [given.x, given.metric, given.clsAttn, ...(given.size ? [given.size] : [])];
  return withUnpacked(gl, ordered, ([x, metric, clsAttn, size]) => merge(gl, plan, x, metric, clsAttn, size));
};

function merge(gl: MathBackendWebGL, plan: MergePlan, x: tf.TensorInfo, metric: tf.TensorInfo, clsAttn: tf.TensorInfo, size?: tf.TensorInfo): tf.TensorInfo[] {
  const shapes = mergeShapes(plan);
  const uniforms = planUniformValues(plan);
  const run = (program: TurboWebGLProgram, ins: tf.TensorInfo[], dtype: 'float32' | 'int32') => gl.runWebGLProgram(program, ins, dtype, uniforms);
  const invNorms = run(new InvNormsProgram(shapes.invNorms), [metric], 'float32');
  const cosines = run(new CosinesProgram(shapes.cosines), [metric, invNorms], 'float32');
  const scores = run(new MatchProgram(shapes.scores), [cosines, clsAttn], 'float32');
  const ranks = run(new RankProgram(shapes.ranks), [scores], 'int32');
  const assignment = run(new AssignProgram(shapes.assignment), [scores, ranks], 'int32');
  const bases = run(new BaseProgram(shapes.bases), [ranks], 'int32');
  const links = run(new LinksProgram(shapes.links), [scores, ranks], 'int32');
  const weights = size ? [size] : [];
  const xOut = run(new GatherMergeProgram(shapes.x, false, !!size), [x, ...weights, bases, links], 'float32');
  const sizeOut = run(new GatherMergeProgram(shapes.size, true, !!size), [...weights, bases, links], 'float32');
  for (const t of [invNorms, cosines, scores, ranks, bases, links]) gl.disposeIntermediateTensorInfo(t);
  return [xOut, sizeOut, assignment];
}

export const turboMergeConfig: tf.KernelConfig = { kernelName: TurboMerge, backendName: 'webgl', kernelFunc: turboMerge };
