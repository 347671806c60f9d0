// Fused wasm TurboUnmerge: the output is allocated before any heap view is taken (an allocation can
// grow the heap and detach older views).
import { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { unmerge } from '../../../turbo/merge';
import { TurboUnmerge, TurboUnmergeInputs } from '../../kernel_names';

const turboUnmerge: KernelFunc = ({ inputs, backend }) => {
  const wasm = backend as BackendWasm;
  const { y, assignment } = inputs as TurboUnmergeInputs;
  const [batch, nOut, channels] = y.shape;
  const n = assignment.shape[1];
  const out = wasm.makeOutput([batch, n, channels], 'float32');
  const values = unmerge(wasm.typedArrayFromHeap(y), { batch, n, nOut, dest: wasm.typedArrayFromHeap(assignment) as Int32Array }, channels);
  (wasm.typedArrayFromHeap(out) as Float32Array).set(values);
  return out;
};

export const turboUnmergeConfig: KernelConfig = { kernelName: TurboUnmerge, backendName: 'wasm', kernelFunc: turboUnmerge };
