// Whether the native-op suites run: they need tfjs-node (`npm run setup:native`) and the op
// library it builds (build/native, `npm run build:native-ops`). When either is missing the suites
// are not included and one test, named for the reason, says so (as spec/helpers/backends.ts does
// for the tensorflow backend): nothing passes in their place.

import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs-core';
import { turboOpLibraryPath } from '../../src/native/op_library';
import { TurboMerge } from '../../src/ops/kernel_names';
import { hasFusedKernel } from '../../src/ops/kernel_registry';
import { nativeInstalled } from '../helpers/backends';
import { notTested } from '../helpers/required';

/** null when the native suites can run, else why not. */
export function nativeOpsMissing(): string | null {
  if (!nativeInstalled()) return 'tfjs-node is not installed (`npm run setup:native`)';
  if (!fs.existsSync(turboOpLibraryPath())) return `the op library is not built (${turboOpLibraryPath()}; \`npm run build:native-ops\`)`;
  return null;
}

/** Runs `suite` when the native ops are available, else registers one test that states why they are not tested. */
export function describeNative(name: string, suite: () => void): void {
  const missing = nativeOpsMissing();
  if (missing === null) {
    describe(name, suite);
    return;
  }
  notTested('native', name, missing);
}

/** Throws unless the active backend runs TurboMerge with the native kernel. */
export function expectNativeKernel(): void {
  if (tf.getBackend() !== 'tensorflow' || !hasFusedKernel(TurboMerge, 'tensorflow')) {
    throw new Error(`the native TurboMerge kernel is not registered on ${tf.getBackend()}`);
  }
}
