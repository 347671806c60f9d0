// Backend selection. In Node the fastest available backend is the default: 'tensorflow'
// (@tensorflow/tfjs-node or -gpu, TensorFlow's native runtime, about 10x wasm on ViT) when it is
// installed (`npm run setup:native`), else wasm (SIMD, single thread). tfjs-node stays optional:
// it is no dependency, since its libtensorflow does not come from the npm registry.
// Importing this module loads no backend: registering one (wasm outranks cpu) would change the
// backend of an app that imports tfjs-turbo. useBackend loads the one it is asked for.

import * as tf from '@tensorflow/tfjs-core';

export type BackendName = 'wasm' | 'cpu' | 'tensorflow' | 'webgl' | 'webgpu';

export const NODE_BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'tensorflow'];

/** The packages whose import registers the JS backends useBackend can load in Node. */
const JS_BACKEND_PACKAGES: Partial<Record<BackendName, string>> = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
};

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let nativePackage: string | null | undefined; // undefined: not tried yet

/** Loads @tensorflow/tfjs-node-gpu or -node if present (once); returns whether the 'tensorflow' backend exists. */
export function tryLoadNativeBackend(): boolean {
  if (nativePackage !== undefined) return nativePackage !== null;
  nativePackage = null;
  // TensorFlow prints its start-up lines (CPU features, oneDNN) on stderr at load unless told not to.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  preferOneDnn();
  for (const pkg of NATIVE_PACKAGES) {
    try {
      require.resolve(pkg);
    } catch {
      continue; // not installed: fine, it is optional
    }
    // Installed but failing to load (a broken build) is an error worth seeing, not a silent fallback.
    require(pkg);
    nativePackage = pkg;
    break;
  }
  return nativePackage !== null;
}

/**
 * Asks TensorFlow for its oneDNN kernels unless the user chose (TF_ENABLE_ONEDNN_OPTS set either
 * way is left alone). TensorFlow 2.12's x86 builds turn oneDNN on by themselves only on CPUs with
 * AVX512-VNNI, AVX512-BF16 or AMX; on the others (every AVX2-only CPU) they run Eigen kernels
 * compiled for plain AVX, without FMA, while oneDNN generates code for the CPU it finds. Measured on
 * an AVX2 EPYC, 1 thread, interleaved (docs/BENCHMARKS.md, "loadTurboModel on tensorflow"), the
 * session route: ViT-B 16-21 % less CPU time per image, ViT-Tiny batch 8 9-17 %, batch 1 from 12 %
 * less to 5 % more; op by op at batch 1 10-13 % more (so an app that only runs op by op may prefer
 * TF_ENABLE_ONEDNN_OPTS=0). TensorFlow reads the variable once, when it starts, so it must be set
 * before tfjs-node is required; an app that loaded tfjs-node itself first keeps whatever its
 * environment said.
 */
function preferOneDnn(): void {
  process.env.TF_ENABLE_ONEDNN_OPTS ??= '1';
}

/** 'tensorflow' when tfjs-node is installed, else 'wasm'. What the demo, eval and bench use unless told otherwise. */
export function defaultBackend(): BackendName {
  return tryLoadNativeBackend() ? 'tensorflow' : 'wasm';
}

/** One line naming the active backend and what it runs on, e.g. for the demo's output. */
export function describeBackend(): string {
  const name = tf.getBackend();
  if (name === 'tensorflow' && nativePackage) {
    const version = (require(`${nativePackage}/package.json`) as { version: string }).version;
    const binding = (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding;
    return `tensorflow (${nativePackage} ${version}, TensorFlow ${binding?.TF_Version ?? '?'})`;
  }
  return name;
}

/** Switches to `name` (default: defaultBackend()); throws a one-line error when it is unavailable. */
export async function useBackend(name: BackendName = defaultBackend()): Promise<void> {
  if (name === 'tensorflow' && !tryLoadNativeBackend()) {
    throw new Error("backend 'tensorflow' needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu installed: run `npm run setup:native`");
  }
  const pkg = JS_BACKEND_PACKAGES[name];
  if (pkg && !tf.findBackendFactory(name)) require(pkg);
  if (tf.engine().backendName === name) return;
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend '${name}' failed to initialise`);
  await tf.ready();
}

/**
 * Runs `f`, then puts back the backend that was active before (when one was), even when `f`
 * throws: for library functions that switch backends, so the app's choice survives them.
 */
export async function restoringBackend<T>(f: () => Promise<T>): Promise<T> {
  const previous = tf.engine().backendName;
  try {
    return await f();
  } finally {
    if (previous && tf.engine().backendName !== previous) await tf.setBackend(previous);
  }
}
