// Which tfjs the tests run on: the repository's (4.22), or with TFJS_TURBO_TFJS_DIR=<dir> the
// @tensorflow packages installed in <dir>/node_modules (an older 4.x, scripts/tfjs_versions.ts).
// jest.config.js maps Node's imports there; these aliases do the same for the browser bundles, so
// the page, the README snippet and Node all run one tfjs version.
import * as path from 'path';

export const TFJS_PACKAGES = ['tfjs-core', 'tfjs-converter', 'tfjs-backend-cpu', 'tfjs-backend-wasm', 'tfjs-backend-webgl', 'tfjs-backend-webgpu'] as const;

/** $TFJS_TURBO_TFJS_DIR as an absolute path, or undefined for the repository's tfjs. */
export function tfjsDir(): string | undefined {
  const dir = process.env.TFJS_TURBO_TFJS_DIR;
  return dir ? path.resolve(dir) : undefined;
}

/** esbuild's `alias` (and vite's resolve.alias) for every tfjs package: {} for the repository's. */
export function tfjsAlias(): Record<string, string> {
  const dir = tfjsDir();
  if (!dir) return {};
  return Object.fromEntries(TFJS_PACKAGES.map((p) => [`@tensorflow/${p}`, path.join(dir, 'node_modules', '@tensorflow', p)]));
}
