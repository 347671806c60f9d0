// Fused webgpu TurboMerge: the whole merge as WGSL compute programs (merge_programs.ts), nothing
// read back to the CPU. Output shapes follow from N and the attrs alone (merge_plan.ts), so the
// kernel enqueues every step without waiting for the GPU.
import { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { TurboMerge, TurboMergeAttrs, TurboMergeInputs } from '../../kernel_names';
import { turboMergeKernel } from '../composite/TurboMerge';
import { MergePrograms, identityMerge, isTurboMean, mergePlan, runMergePrograms } from '../merge_plan';
import { AssignProgram, BaseProgram, CosinesProgram, GatherMergeProgram, InvNormsProgram, LinksProgram, MatchProgram, RankProgram } from './merge_programs';
import { TurboWebGPUProgram, planUniforms } from './program';

const PROGRAMS: MergePrograms<TurboWebGPUProgram> = {
  invNorms: (shape) => new InvNormsProgram(shape),
  cosines: (shape) => new CosinesProgram(shape),
  // One invocation per source: it writes the (E, best j) pair.
  match: (shape, sources) => new MatchProgram(shape, sources),
  rank: (shape) => new RankProgram(shape),
  assign: (shape) => new AssignProgram(shape),
  base: (shape) => new BaseProgram(shape),
  links: (shape) => new LinksProgram(shape),
  gather: (shape, sizes, hasSize) => new GatherMergeProgram(shape, sizes, hasSize),
};

const turboMerge: KernelFunc = (args) => {
  // The WGSL programs compute Turbo's score and the mean; PiToMe and MLERP run the composite kernel
  // (matching read back to src/turbo/merge.ts, the merge as tfjs ops on the GPU).
  if (!isTurboMean(args.attrs as unknown as TurboMergeAttrs)) return turboMergeKernel.kernelFunc(args);
  const { inputs, backend, attrs } = args;
  const gpu = backend as WebGPUBackend;
  const { x, metric, clsAttn, size } = inputs as TurboMergeInputs & { size?: TensorInfo };
  const plan = mergePlan(x.shape, metric.shape[2], attrs as unknown as TurboMergeAttrs);
  if (plan.r === 0) return identityMerge(gpu, x, size);

  return runMergePrograms(
    plan,
    PROGRAMS,
    (program, ins, dtype) => gpu.runWebGPUProgram(program, ins, dtype, planUniforms(plan, program)),
    (t) => gpu.disposeData(t.dataId),
    { x, metric, clsAttn, size },
  );
};

export const turboMergeConfig: KernelConfig = { kernelName: TurboMerge, backendName: 'webgpu', kernelFunc: turboMerge };
