// Fused wasm TurboPropAttnBias: log(size) written into the heap in the broadcastable [B, 1, 1, N] layout.
import { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { TurboPropAttnBias, TurboPropAttnBiasInputs } from '../../kernel_names';

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

export const turboPropAttnBiasConfig: KernelConfig = { kernelName: TurboPropAttnBias, backendName: 'wasm', kernelFunc: turboPropAttnBias };
