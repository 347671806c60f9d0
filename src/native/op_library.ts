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
import { TurboInputError } from '../errors';
import { parseJsonText, readWholeFileSync } from '../graph/safe_read';
import { NATIVE_TURBO_OPS } from '../ops/op_sets';
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

const REBUILD = 'rebuild it with `npm run build:native-ops -- --force`';

/**
 * Loads the op library into tfjs-node's TensorFlow (loading tfjs-node if installed and not yet
 * loaded). Idempotent: later calls return the first result, whatever `buildDir` they pass, since
 * a process can load only one library registering these ops. Never throws: a missing or foreign
 * build, a missing tfjs-node or a load failure comes back as { loaded: false, error }.
 */
export function loadTurboOpLibrary(buildDir = path.dirname(turboOpLibraryPath())): TurboOpLibrary {
  return (result ??= load(buildDir));
}

function load(dir: string): TurboOpLibrary {
  const lib = path.join(dir, LIBRARY);
  if (!fs.existsSync(lib) || !fs.existsSync(path.join(dir, LOADER))) {
    return { loaded: false, error: `the Turbo op library is not built (${path.relative(packageRoot(), lib)} missing): run \`npm run build:native-ops\`` };
  }
  const build = readBuild(dir);
  if (typeof build === 'string') return { loaded: false, path: lib, error: build };
  let native: boolean;
  try {
    native = tryLoadNativeBackend();
  } catch (e) {
    return { loaded: false, path: lib, error: `tfjs-node failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  if (!native) return { loaded: false, path: lib, error: 'tfjs-node is not installed: the op library runs inside its TensorFlow (`npm run setup:native`)' };
  const stale = staleBuild(build);
  if (stale) return { loaded: false, path: lib, error: stale };
  let ops: string[];
  try {
    const loader = require(path.join(dir, LOADER)) as { load(file: string): string[] };
    ops = loader.load(lib);
  } catch (e) {
    return { loaded: false, path: lib, error: `loading ${lib} failed: ${(e as Error).message.split('\n')[0]}` };
  }
  // Any shared library loads; only the ops it registered show that it is ours and complete.
  const wrong = opsMismatch(ops, 'registers');
  if (wrong) return { loaded: false, path: lib, ops, error: `${lib}: ${wrong}; it is not this version's Turbo op library: ${REBUILD}` };
  return { loaded: true, path: lib, ops };
}

/**
 * How `ops` differs from the ops the Turbo kernels need ("registers no op, expected ...",
 * "registers TurboMerge but not TurboPropAttnBias", "also registers Foo"), or null when it is
 * exactly them.
 */
export function opsMismatch(ops: readonly string[], verb: 'lists' | 'registers'): string | null {
  const missing = [...NATIVE_TURBO_OPS].filter((op) => !ops.includes(op));
  const extra = ops.filter((op) => !NATIVE_TURBO_OPS.has(op));
  if (!ops.length) return `${verb} no op, expected ${[...NATIVE_TURBO_OPS].join(', ')}`;
  if (missing.length) return `${verb} ${ops.join(', ')} but not ${missing.join(', ')}`;
  if (extra.length) return `also ${verb} ${extra.join(', ')}, which are not Turbo ops`;
  return null;
}

/**
 * The manifest, after reading the library, its loader and the manifest as regular files of bounded
 * size: opening a FIFO in their place would block this process for ever (dlopen and require do
 * plain blocking opens). A manifest without exactly our ops is a build of other sources. A problem
 * comes back as a one-line message.
 */
function readBuild(dir: string): Manifest | string {
  const file = path.join(dir, 'manifest.json');
  try {
    readWholeFileSync(path.join(dir, LIBRARY), 'opLibrary');
    readWholeFileSync(path.join(dir, LOADER), 'opLibrary');
    const m = parseJsonText(readWholeFileSync(file, 'opManifest').toString('utf8'), file);
    if (!isManifest(m)) throw new TurboInputError(file, 'is not an op library manifest (npmPackage, tfVersion, ops)');
    const ops = opsMismatch(m.ops, 'lists');
    if (ops) throw new TurboInputError(file, ops);
    return m;
  } catch (e) {
    if (e instanceof TurboInputError) return `${e.message}: ${REBUILD}`;
    throw e;
  }
}

function isManifest(m: unknown): m is Manifest {
  const o = m as Partial<Manifest> | null;
  return typeof o === 'object' && o !== null && typeof o.npmPackage === 'string' && typeof o.tfVersion === 'string' && Array.isArray(o.ops) && o.ops.every((op) => typeof op === 'string');
}

/**
 * A library built for another tfjs-node or TensorFlow may not even link against this one (or
 * worse, link and misbehave): refuse it by its manifest.
 */
function staleBuild(m: Manifest): string | null {
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
