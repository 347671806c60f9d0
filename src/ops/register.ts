// registerTurboOps for Node: the browser-safe registration (register_core.ts) plus the tensorflow
// backend's kernels, which run the native op library and so need Node (fs, tfjs-node). Importing
// this module adds them; the browser entry (src/browser.ts) imports register_core.ts instead.
import { addKernelSource } from './register_core';
import { availableTensorflowKernels, tensorflowKernels } from './kernels/tensorflow/turbo_merge';

addKernelSource({ available: availableTensorflowKernels, all: tensorflowKernels });

export { registerTurboOps, registerFusedKernels, unregisterFusedKernels, mergeNode, addKernelSource } from './register_core';
export type { RegisterOptions, KernelSource } from './register_core';
