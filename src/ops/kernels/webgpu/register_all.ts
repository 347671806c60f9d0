// The webgpu backend's fused Turbo kernels (WGSL programs; tfjs-backend-webgpu's register_all_kernels.ts convention).
import type { BackendKernels } from '../../kernel_registry';
import { turboMergeConfig } from './TurboMerge';
import { turboPropAttnBiasConfig } from './TurboPropAttnBias';
import { turboUnmergeConfig } from './TurboUnmerge';

const kernels = [turboMergeConfig, turboUnmergeConfig, turboPropAttnBiasConfig];

export const webgpuKernels: BackendKernels = { backendName: 'webgpu', available: () => kernels };
