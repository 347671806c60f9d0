// Backend selection. In Node, wasm is the default (SIMD, single thread); tfjs-node(-gpu) is used
// only when installed, since its install script downloads libtensorflow and is optional here.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

export type BackendName = 'wasm' | 'cpu' | 'tensorflow' | 'webgl' | 'webgpu';

export const NODE_BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'tensorflow'];

/** Loads @tensorflow/tfjs-node or -gpu if present; returns whether the 'tensorflow' backend exists. */
export function tryLoadNativeBackend(): boolean {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require(pkg);
      return true;
    } catch {
      // not installed: fine, it is optional
    }
  }
  return false;
}

export async function useBackend(name: BackendName = 'wasm'): Promise<void> {
  if (name === 'tensorflow' && !tryLoadNativeBackend()) {
    throw new Error("backend 'tensorflow' needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu installed");
  }
  if (tf.getBackend() === name) return;
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend '${name}' failed to initialise`);
  await tf.ready();
}
