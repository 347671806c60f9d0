// The cpu backend keeps tensors as typed arrays in JS memory: a kernel reads them in place.
import { TensorInfo } from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

export const read = (backend: MathBackendCPU, t: TensorInfo) => backend.readSync(t.dataId) as Float32Array | Int32Array;
