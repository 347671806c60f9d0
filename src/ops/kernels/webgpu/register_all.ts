// The webgpu backend's fused Turbo kernels (WGSL programs; tfjs-backend-webgpu's register_all_kernels.ts convention).
import type { BackendKernels } from '../../kernel_registry';
import { turboDropTokensConfig } from './TurboDropTokens';
import { turboMergeConfig } from './TurboMerge';
import { turboPropAttnBiasConfig } from './TurboPropAttnBias';
import { turboUnmergeConfig } from './TurboUnmerge';

const kernels = [turboMergeConfig, turboUnmergeConfig, turboPropAttnBiasConfig, turboDropTokensConfig];

export const webgpuKernels: BackendKernels = { backendName: 'webgpu', available: () => kernels };
