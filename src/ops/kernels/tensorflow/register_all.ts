// The tensorflow backend's (tfjs-node) fused Turbo kernels. Node only: they run the native op
// library, so src/ops/register.ts (the Node registration) adds them, not register_core.ts.
import { loadTurboOpLibrary } from '../../../native/op_library';
import type { BackendKernels } from '../../kernel_registry';
import { turboMergeConfig } from './TurboMerge';
import { turboPropAttnBiasConfig } from './TurboPropAttnBias';
import { turboUnmergeConfig } from './TurboUnmerge';

const kernels = [turboMergeConfig, turboUnmergeConfig, turboPropAttnBiasConfig];

/**
 * Asked only once the tensorflow backend is registered (tfjs-node loaded by the app or by
 * useBackend), so it never loads tfjs-node itself. Without the op library the backend gets the
 * composite kernels instead.
 */
export const tensorflowKernels: BackendKernels = { backendName: 'tensorflow', available: () => (loadTurboOpLibrary().loaded ? kernels : []) };
