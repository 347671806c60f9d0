// Fused cpu TurboMerge: one pass over the backend's own arrays, no intermediate tensors.
import { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { mergeWeighted } from '../../../turbo/merge';
import { TurboMerge, TurboMergeAttrs, TurboMergeInputs } from '../../kernel_names';
import { matchTokens, mergeModeOf } from '../match';
import { read } from './read';

const turboMerge: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const { x, metric, clsAttn, size } = inputs as TurboMergeInputs & { size?: TensorInfo };
  const [batch, n, channels] = x.shape;
  const mergeAttrs = attrs as unknown as TurboMergeAttrs;
  const sizes = size ? read(cpu, size) : null;
  const a = matchTokens(read(cpu, metric), read(cpu, clsAttn), { batch, n, d: metric.shape[2] }, mergeAttrs, sizes);
  const merged = mergeWeighted(read(cpu, x), sizes, a, channels, undefined, mergeModeOf(mergeAttrs));
  return [
    cpu.makeTensorInfo([batch, a.nOut, channels], 'float32', merged.x),
    cpu.makeTensorInfo([batch, a.nOut], 'float32', merged.size),
    cpu.makeTensorInfo([batch, n], 'int32', a.dest),
  ];
};

export const turboMergeConfig: KernelConfig = { kernelName: TurboMerge, backendName: 'cpu', kernelFunc: turboMerge };
