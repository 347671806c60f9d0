// registerTurboOps for Node: the browser-safe registration (register_core.ts) plus the tensorflow
// backend's kernels, which run the native op library and so need Node (fs, tfjs-node). Importing
// this module adds them; the browser entry (src/browser.ts) imports register_core.ts instead.
import { addBackendKernels } from './kernel_registry';
import { tensorflowKernels } from './kernels/tensorflow/register_all';

addBackendKernels(tensorflowKernels);

export { registerTurboOps, mergeNode } from './register_core';
export type { RegisterOptions } from './register_core';
export { registerTurboKernels, registerFusedKernels, unregisterFusedKernels, hasFusedKernel, addBackendKernels } from './kernel_registry';
export type { BackendKernels } from './kernel_registry';
