// Fused wasm TurboMerge: reads its inputs straight from the wasm heap and writes its outputs into it.
// Outputs are allocated before their views are taken, because an allocation can grow the heap and
// detach older views.
import { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { mergeWeighted } from '../../../turbo/merge';
import { TurboMerge, TurboMergeAttrs, TurboMergeInputs } from '../../kernel_names';
import { matchTokens, mergeModeOf } from '../match';

const turboMerge: KernelFunc = ({ inputs, backend, attrs }) => {
  const wasm = backend as BackendWasm;
  const { x, metric, clsAttn, size } = inputs as TurboMergeInputs & { size?: TensorInfo };
  const [batch, n, channels] = x.shape;
  const mergeAttrs = attrs as unknown as TurboMergeAttrs;
  const assignmentOut = wasm.makeOutput([batch, n], 'int32');
  // The matching only needs metric and attention; compute it before sizing the other outputs.
  const a = matchTokens(
    wasm.typedArrayFromHeap(metric),
    wasm.typedArrayFromHeap(clsAttn),
    { batch, n, d: metric.shape[2] },
    mergeAttrs,
    size ? wasm.typedArrayFromHeap(size) : null,
  );
  const xOut = wasm.makeOutput([batch, a.nOut, channels], 'float32');
  const sizeOut = wasm.makeOutput([batch, a.nOut], 'float32');
  (wasm.typedArrayFromHeap(assignmentOut) as Int32Array).set(a.dest);
  mergeWeighted(wasm.typedArrayFromHeap(x), size ? wasm.typedArrayFromHeap(size) : null, a, channels, {
    x: wasm.typedArrayFromHeap(xOut) as Float32Array,
    size: wasm.typedArrayFromHeap(sizeOut) as Float32Array,
  }, mergeModeOf(mergeAttrs));
  return [xOut, sizeOut, assignmentOut];
};

export const turboMergeConfig: KernelConfig = { kernelName: TurboMerge, backendName: 'wasm', kernelFunc: turboMerge };
