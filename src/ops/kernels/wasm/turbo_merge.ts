// Fused wasm kernels: read inputs straight from the wasm heap and write outputs into it.
// Outputs are allocated first, because an allocation can grow the heap and detach older views.
import { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { unmerge, mergeWeighted } from '../../../turbo/merge';
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

const turboMerge: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { x, metric, clsAttn, size } = inputs as TurboMergeInputs & { size?: TensorInfo };
  const [batch, n, channels] = x.shape;
  const assignmentOut = wasm.makeOutput([batch, n], 'int32');
  // The matching only needs metric and attention; compute it before sizing the other outputs.
  const a = matchTokens(
    wasm.typedArrayFromHeap(metric),
    wasm.typedArrayFromHeap(clsAttn),
    { batch, n, d: metric.shape[2] },
    attrs as unknown as TurboMergeAttrs,
  );
  const xOut = wasm.makeOutput([batch, a.nOut, channels], 'float32');
  const sizeOut = wasm.makeOutput([batch, a.nOut], 'float32');
  (wasm.typedArrayFromHeap(assignmentOut) as Int32Array).set(a.dest);
  mergeWeighted(wasm.typedArrayFromHeap(x), size ? wasm.typedArrayFromHeap(size) : null, a, channels, {
    x: wasm.typedArrayFromHeap(xOut) as Float32Array,
    size: wasm.typedArrayFromHeap(sizeOut) as Float32Array,
  });
  return [xOut, sizeOut, assignmentOut];
};

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

const turboPropAttnBias: KernelFunc = ({ inputs, backend }) => {
  const wasm = backend as BackendWasm;
  const { size } = inputs as TurboPropAttnBiasInputs;
  const [batch, n] = size.shape;
  const out = wasm.makeOutput([batch, 1, 1, n], 'float32');
  const src = wasm.typedArrayFromHeap(size);
  const dst = wasm.typedArrayFromHeap(out) as Float32Array;
  for (let i = 0; i < src.length; i++) dst[i] = Math.log(src[i]);
  return out;
};

export const wasmKernels: KernelConfig[] = [
  { kernelName: TurboMerge, backendName: 'wasm', kernelFunc: turboMerge },
  { kernelName: TurboUnmerge, backendName: 'wasm', kernelFunc: turboUnmerge },
  { kernelName: TurboPropAttnBias, backendName: 'wasm', kernelFunc: turboPropAttnBias },
];
