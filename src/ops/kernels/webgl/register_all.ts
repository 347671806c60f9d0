// The webgl backend's fused Turbo kernels (GLSL programs; tfjs-backend-webgl's register_all_kernels.ts convention).
import type { BackendKernels } from '../../kernel_registry';
import { turboDropTokensConfig } from './TurboDropTokens';
import { turboMergeConfig } from './TurboMerge';
import { turboPropAttnBiasConfig } from './TurboPropAttnBias';
import { turboUnmergeConfig } from './TurboUnmerge';

const kernels = [turboMergeConfig, turboUnmergeConfig, turboPropAttnBiasConfig, turboDropTokensConfig];

export const webglKernels: BackendKernels = { backendName: 'webgl', available: () => kernels };
