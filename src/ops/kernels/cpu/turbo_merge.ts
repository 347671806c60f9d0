// Fused cpu kernels: one pass over the backend's own arrays, no intermediate tensors.
import { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { logSizes, mergeWeighted, unmerge } from '../../../turbo/merge';
import {
  TurboMerge,
  TurboMergeAttrs,
  TurboMergeInputs,
  TurboPropAttnBias,
  TurboPropAttnBiasInputs,
  TurboUnmerge,
  TurboUnmergeInputs,
} from '../../kernel_names';
import { matchTokens } from '../match';

const read = (backend: MathBackendCPU, t: TensorInfo) => backend.readSync(t.dataId) as Float32Array | Int32Array;

const turboMerge: KernelFunc = ({ inputs, backend, attrs }) => {
  const cpu = backend as MathBackendCPU;
  const { x, metric, clsAttn, size } = inputs as TurboMergeInputs & { size?: TensorInfo };
  const [batch, n, channels] = x.shape;
  const a = matchTokens(read(cpu, metric), read(cpu, clsAttn), { batch, n, d: metric.shape[2] }, attrs as unknown as TurboMergeAttrs);
  const merged = mergeWeighted(read(cpu, x), size ? read(cpu, size) : null, a, channels);
  return [
    cpu.makeTensorInfo([batch, a.nOut, channels], 'float32', merged.x),
    cpu.makeTensorInfo([batch, a.nOut], 'float32', merged.size),
    cpu.makeTensorInfo([batch, n], 'int32', a.dest),
  ];
};

const turboUnmerge: KernelFunc = ({ inputs, backend }) => {
  const cpu = backend as MathBackendCPU;
  const { y, assignment } = inputs as TurboUnmergeInputs;
  const [batch, nOut, channels] = y.shape;
  const n = assignment.shape[1];
  const out = unmerge(read(cpu, y), { batch, n, nOut, dest: read(cpu, assignment) as Int32Array }, channels);
  return cpu.makeTensorInfo([batch, n, channels], 'float32', out);
};

const turboPropAttnBias: KernelFunc = ({ inputs, backend }) => {
  const cpu = backend as MathBackendCPU;
  const { size } = inputs as TurboPropAttnBiasInputs;
  const [batch, n] = size.shape;
  return cpu.makeTensorInfo([batch, 1, 1, n], 'float32', logSizes(read(cpu, size)));
};

export const cpuKernels: KernelConfig[] = [
  { kernelName: TurboMerge, backendName: 'cpu', kernelFunc: turboMerge },
  { kernelName: TurboUnmerge, backendName: 'cpu', kernelFunc: turboUnmerge },
  { kernelName: TurboPropAttnBias, backendName: 'cpu', kernelFunc: turboPropAttnBias },
];
