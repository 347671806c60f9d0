// The composite Turbo kernels, one per Turbo op: the kernel every backend without a fused one gets
// (src/ops/kernel_registry.ts registers them per backend name).
import type { CompositeKernel } from '../../kernel_registry';
import { turboDropTokensKernel } from './TurboDropTokens';
import { turboMergeKernel } from './TurboMerge';
import { turboPropAttnBiasKernel } from './TurboPropAttnBias';
import { turboUnmergeKernel } from './TurboUnmerge';

export const compositeKernels: readonly CompositeKernel[] = [turboMergeKernel, turboUnmergeKernel, turboPropAttnBiasKernel, turboDropTokensKernel];
