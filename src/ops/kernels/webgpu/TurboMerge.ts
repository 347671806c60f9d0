// Fused webgpu TurboMerge: the whole merge as WGSL compute programs (merge_programs.ts), nothing
// read back to the CPU. Output shapes follow from N and the attrs alone (merge_plan.ts), so the
// kernel enqueues every step without waiting for the GPU.
import { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { TurboMerge, TurboMergeAttrs, TurboMergeInputs } from '../../kernel_names';
import { identityMerge, mergePlan, mergeShapes } from '../merge_plan';
import { AssignProgram, BaseProgram, CosinesProgram, GatherMergeProgram, InvNormsProgram, LinksProgram, MatchProgram, RankProgram } from './merge_programs';
import { TurboWebGPUProgram, planUniforms } from './program';

const turboMerge: KernelFunc = ({ inputs, backend, attrs }) => {
  const gpu = backend as WebGPUBackend;
  const { x, metric, clsAttn, size } = inputs as TurboMergeInputs & { size?: TensorInfo };
  const plan = mergePlan(x.shape, metric.shape[2], attrs as unknown as TurboMergeAttrs);
  if (plan.r === 0) return identityMerge(gpu, x, size);

  const shapes = mergeShapes(plan);
  const run = (program: TurboWebGPUProgram, ins: TensorInfo[], dtype: 'float32' | 'int32') =>
    gpu.runWebGPUProgram(program, ins, dtype, planUniforms(plan, program));
  const invNorms = run(new InvNormsProgram(shapes.invNorms), [metric], 'float32');
  const cosines = run(new CosinesProgram(shapes.cosines), [metric, invNorms], 'float32');
  // One invocation per source: it writes the (E, best j) pair.
  const scores = run(new MatchProgram(shapes.scores, plan.batch * plan.ns), [cosines, clsAttn], 'float32');
  const ranks = run(new RankProgram(shapes.ranks), [scores], 'int32');
  const assignment = run(new AssignProgram(shapes.assignment), [scores, ranks], 'int32');
  const bases = run(new BaseProgram(shapes.bases), [ranks], 'int32');
  const links = run(new LinksProgram(shapes.links), [scores, ranks], 'int32');
  const weights = size ? [size] : [];
  const xOut = run(new GatherMergeProgram(shapes.x, false, !!size), [x, ...weights, bases, links], 'float32');
  const sizeOut = run(new GatherMergeProgram(shapes.size, true, !!size), [...weights, bases, links], 'float32');
  for (const t of [invNorms, cosines, scores, ranks, bases, links]) gpu.disposeData(t.dataId);
  return [xOut, sizeOut, assignment];
};

export const turboMergeConfig: KernelConfig = { kernelName: TurboMerge, backendName: 'webgpu', kernelFunc: turboMerge };
