// The Turbo ops as a TensorFlow custom-op library (native/, built by `npm run build:native-ops`
// into build/native/), loaded into the TensorFlow that tfjs-node runs, so TensorFlow finds
// TurboMerge, TurboPropAttnBias and TurboUnmerge by name: op by op through the tensorflow
// backend's kernels (src/ops/kernels/tensorflow/) and inside SavedModels.
//
// Loading goes through a small N-API addon that calls TF_LoadLibrary (never process.dlopen of the
// op library itself: Node would unload it under TensorFlow's feet). Exactly one file is ever
// loaded per process: loading two files that register the same ops aborts TensorFlow.

import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { packageRoot } from '../paths';
import { tryLoadNativeBackend } from '../runtime/backend';

export interface TurboOpLibrary {
  /** Whether the ops are registered in this process's TensorFlow. */
  loaded: boolean;
  /** The library file (set whenever one was found). */
  path?: string;
  /** Op names the library registered. */
  ops?: string[];
  /** Why it is not loaded (one line). */
  error?: string;
}

/** What scripts/build-native-ops.ts wrote next to the library (the fields read here). */
interface Manifest {
  format?: number;
  npmPackage: string;
  tfVersion: string;
  ops: string[];
}

/** The build manifest's layout version this loader understands (scripts/build-native-ops.ts writes it). */
const MANIFEST_FORMAT = 1;

const LIBRARY = 'libturbo_ops.so';
const LOADER = 'turbo_loader.node';

let result: TurboOpLibrary | undefined;

/** build/native/libturbo_ops.so in the package root (the one file this process may load). */
export function turboOpLibraryPath(): string {
  return path.join(packageRoot(), 'build', 'native', LIBRARY);
}

/**
 * Loads the op library into tfjs-node's TensorFlow (loading tfjs-node if installed and not yet
 * loaded). Idempotent: later calls return the first result. Never throws: a missing build, a
 * missing tfjs-node or a load failure comes back as { loaded: false, error }.
 */
export function loadTurboOpLibrary(): TurboOpLibrary {
  return (result ??= load());
}

function load(): TurboOpLibrary {
  const lib = turboOpLibraryPath();
  const dir = path.dirname(lib);
  if (!fs.existsSync(lib) || !fs.existsSync(path.join(dir, LOADER))) {
    return { loaded: false, error: `the Turbo op library is not built (${path.relative(packageRoot(), lib)} missing): run \`npm run build:native-ops\`` };
  }
  let native: boolean;
  try {
    native = tryLoadNativeBackend();
  } catch (e) {
    return { loaded: false, path: lib, error: `tfjs-node failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  if (!native) return { loaded: false, path: lib, error: 'tfjs-node is not installed: the op library runs inside its TensorFlow (`npm run setup:native`)' };
  const stale = staleBuild(dir);
  if (stale) return { loaded: false, path: lib, error: stale };
  try {
    const loader = require(path.join(dir, LOADER)) as { load(file: string): string[] };
    return { loaded: true, path: lib, ops: loader.load(lib) };
  } catch (e) {
    return { loaded: false, path: lib, error: `loading ${lib} failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

/**
 * A library built for another tfjs-node or TensorFlow may not even link against this one (or
 * worse, link and misbehave): refuse it by its manifest.
 */
function staleBuild(dir: string): string | null {
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return `${path.join(dir, 'manifest.json')} is missing or unreadable: rebuild with \`npm run build:native-ops -- --force\``;
  }
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
    } catch {
      continue;
    }
    // The same package order as src/runtime/backend.ts: the first installed one is the one loaded.
    if (pkg !== m.npmPackage) return `the op library was built for ${m.npmPackage} but ${pkg} is loaded: run \`npm run build:native-ops -- --force\``;
    break;
  }
  if (m.format !== MANIFEST_FORMAT) return `the op library's manifest has format ${String(m.format)}, expected ${MANIFEST_FORMAT}: run \`npm run build:native-ops -- --force\``;
  // A different TensorFlow behind the same package name (another pin, --gpu) has another C++ ABI.
  const loaded = (tf.findBackend('tensorflow') as unknown as { binding?: { TF_Version?: string } } | undefined)?.binding?.TF_Version;
  if (loaded && m.tfVersion && loaded !== m.tfVersion) {
    return `the op library was built for TensorFlow ${m.tfVersion} but ${loaded} is loaded: run \`npm run build:native-ops -- --force\``;
  }
  return null;
}
