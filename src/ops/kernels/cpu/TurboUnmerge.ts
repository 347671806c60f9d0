// Fused cpu TurboUnmerge: the rows copied straight out of the backend's arrays.
import { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { unmerge } from '../../../turbo/merge';
import { TurboUnmerge, TurboUnmergeInputs } from '../../kernel_names';
import { read } from './read';

const turboUnmerge: KernelFunc = ({ inputs, backend }) => {
  const cpu = backend as MathBackendCPU;
  const { y, assignment } = inputs as TurboUnmergeInputs;
  const [batch, nOut, channels] = y.shape;
  const n = assignment.shape[1];
  const out = unmerge(read(cpu, y), { batch, n, nOut, dest: read(cpu, assignment) as Int32Array }, channels);
  return cpu.makeTensorInfo([batch, n, channels], 'float32', out);
};

export const turboUnmergeConfig: KernelConfig = { kernelName: TurboUnmerge, backendName: 'cpu', kernelFunc: turboUnmerge };
