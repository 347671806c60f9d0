// What the SavedModel and op library surfaces need: tfjs-node and the op library it builds (as
// spec/native/helpers.ts checks for the native specs).

import * as fs from 'fs';
import { turboOpLibraryPath } from '../../../src/native/op_library';

/** null when tfjs-node and build/native are there, else why a native surface cannot run. */
export function nativeMissing(): string | null {
  const installed = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((pkg) => {
    try {
      return !!require.resolve(pkg);
    } catch {
      return false;
    }
  });
  if (!installed) return 'tfjs-node is not installed (`npm run setup:native`)';
  if (!fs.existsSync(turboOpLibraryPath())) return `the op library is not built (${turboOpLibraryPath()}; \`npm run build:native-ops\`)`;
  return null;
}
