// Which backends the backend-parameterised suites run on: cpu and wasm always, and 'tensorflow'
// whenever tfjs-node is installed (`npm run setup:native`; CI runs it). When it is absent the
// backend is simply not in the list, nothing is skipped; spec/runtime/native_backend.spec.ts says so
// in the test output.

import { BackendName } from '../../src/runtime/backend';

/** Whether @tensorflow/tfjs-node(-gpu) is resolvable, without loading it. */
export function nativeInstalled(): boolean {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      // not installed
    }
  }
  return false;
}

/** `base` plus 'tensorflow' when tfjs-node is installed. */
export function withNative<T extends BackendName>(base: readonly T[]): (T | 'tensorflow')[] {
  return nativeInstalled() ? [...base, 'tensorflow'] : [...base];
}
