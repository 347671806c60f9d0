// Which backends the backend-parameterised suites run on: cpu and wasm always, and 'tensorflow'
// whenever tfjs-node is installed (`npm run setup:native`; CI runs it). When it is absent the
// backend is simply not in the list, nothing is skipped; spec/runtime/native_backend.spec.ts says so
// in the test output.

import { BackendName, useBackend } from '../../src/runtime/backend';

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

/** The JS backends every backend-parameterised suite runs on. */
export const JS_BACKENDS = ['cpu', 'wasm'] as const;

/** JS_BACKENDS plus 'tensorflow' when installed: the model suites' list. */
export function modelBackends(): BackendName[] {
  return withNative(JS_BACKENDS);
}

/**
 * describe.each over `backends` (default: modelBackends()), with the backend selected before the
 * body's own beforeAll hooks run; titles end in "on <backend>".
 */
export function describeBackends(title: string, body: (backend: BackendName) => void, backends: readonly BackendName[] = modelBackends()): void {
  describe.each([...backends])(`${title} on %s`, (backend) => {
    beforeAll(async () => {
      await useBackend(backend);
    });
    body(backend);
  });
}
