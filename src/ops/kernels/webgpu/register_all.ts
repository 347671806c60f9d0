// The webgpu backend's fused Turbo kernels (WGSL programs; tfjs-backend-webgpu's register_all_kernels.ts convention).
import type { BackendKernels } from '../../kernel_registry';
import { turboDropTokensConfig } from './TurboDropTokens';
import { turboMergeConfig } from './TurboMerge';
import { turboPropAttnBiasConfig } from './TurboPropAttnBias';
import { turboUnmergeConfig } from './TurboUnmerge';
import { smallMeanKernel } from './small_mean';

const kernels = [turboMergeConfig, turboUnmergeConfig, turboPropAttnBiasConfig, turboDropTokensConfig];

// Mean over a few values (Turbo's mean over heads) without tfjs's one-workgroup-per-output reduction (small_mean.ts).
export const webgpuKernels: BackendKernels = { backendName: 'webgpu', available: () => kernels, replacements: [{ kernelName: 'Mean', wrap: smallMeanKernel }] };
