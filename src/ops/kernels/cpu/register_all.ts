// The cpu backend's fused Turbo kernels (tfjs-backend-cpu's register_all_kernels.ts convention).
import type { BackendKernels } from '../../kernel_registry';
import { turboMergeConfig } from './TurboMerge';
import { turboPropAttnBiasConfig } from './TurboPropAttnBias';
import { turboUnmergeConfig } from './TurboUnmerge';

const kernels = [turboMergeConfig, turboUnmergeConfig, turboPropAttnBiasConfig];

export const cpuKernels: BackendKernels = { backendName: 'cpu', available: () => kernels };
