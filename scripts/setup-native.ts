#!/usr/bin/env node
// npm run setup:native [-- --gpu] [-- --force]
//
// Installs @tensorflow/tfjs-node (or -gpu) 4.22, the 'tensorflow' backend, without making it a
// dependency: tfjs-node's installer downloads libtensorflow 2.9.1 from Google's bucket, which this
// project's machines cannot reach and which has no Python-free substitute on PyPI. So:
//
//   1. pip downloads the pinned TensorFlow wheel from PyPI (cached; never downloaded twice),
//   2. its C library, renamed, and the binding's header closure become the libtensorflow tarball
//      the installer expects (cached too),
//   3. a loopback HTTP server hands that tarball to the installer (TFJS_NODE_BASE_URI), which
//      compiles the addon here (npm_config_build_from_source, npm_config_nodedir),
//   4. the addon's imports are checked against the library, and one op runs on the backend.
//
// Pins and why: scripts/native/pins.ts. Cache: scripts/native/cache.ts (~/.cache/tfjs-turbo).
// `npm ci` removes the package again (it is in no lockfile); rerun this after it.

import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { packageRoot } from '../src/paths';
import { buildNativeOps } from './build-native-ops';
import { atomically, cacheDir, sizeMB } from './native/cache';
import { cudaRequirements } from './native/gpu';
import { installedVersion, installNative, packageDir } from './native/install';
import { PINS, TFJS_NODE_VERSION, Variant } from './native/pins';
import { SetupError } from './native/proc';
import { buildTarball } from './native/tarball';
import { verifyNative } from './native/verify';
import { ensureWheel, findPython } from './native/wheel';

/** Bump when the tarball's layout changes, so stale cached tarballs are rebuilt. */
const TARBALL_FORMAT = 1;

interface SetupOptions {
  gpu: boolean;
  force: boolean;
}

function stepper(total: number, log: (s: string) => void) {
  const t0 = Date.now();
  let n = 0;
  return (what: string) => log(`[${++n}/${total}] ${what} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

export async function setupNative(opts: SetupOptions, log: (s: string) => void = (s) => console.error(s)): Promise<void> {
  const variant: Variant = opts.gpu ? 'gpu' : 'cpu';
  const pin = PINS[variant];
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new SetupError(`setup:native builds from the manylinux x86_64 wheel; on ${process.platform}/${process.arch} run \`npm install --no-save ${pin.npmPackage}@${TFJS_NODE_VERSION}\` (Google's prebuilt library) instead`);
  }
  const root = packageRoot();
  const step = stepper(4, log);

  if (!opts.force && installedVersion(root, pin) === TFJS_NODE_VERSION) {
    try {
      log(`${pin.npmPackage}@${TFJS_NODE_VERSION} is already installed: ${await verifyNative(root, pin)} (--force reinstalls)`);
      return;
    } catch (e) {
      log(`${pin.npmPackage} is installed but broken (${(e as Error).message}); reinstalling`);
    }
  }

  const cache = cacheDir();
  const python = findPython();
  step(`TensorFlow ${pin.tfVersion} wheel (${pin.wheelProject}) in ${path.join(cache, 'wheels')}`);
  const wheelDir = path.join(cache, 'wheels');
  fs.mkdirSync(wheelDir, { recursive: true });
  const wheel = await ensureWheel(python, wheelDir, pin.wheelProject, pin.tfVersion, log);
  const nvidiaWheels: string[] = [];
  if (variant === 'gpu') {
    for (const req of await cudaRequirements(python, wheel)) {
      const [project, version] = req.split('==');
      nvidiaWheels.push(await ensureWheel(python, wheelDir, project, version, log));
    }
  }

  const tarball = path.join(cache, 'libtensorflow', `${pin.wheelProject}-${pin.tfVersion}-format${TARBALL_FORMAT}`, pin.tarballName);
  step(`libtensorflow tarball ${tarball}`);
  if (opts.force || !fs.existsSync(tarball)) {
    await atomically(tarball, async (tmp) => {
      const work = fs.mkdtempSync(path.join(cache, '.build-'));
      try {
        await buildTarball(wheel, work, tmp, { python, nvidiaWheels, log });
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    });
  } else log('  cached');
  log(`  ${sizeMB(tarball).toFixed(0)} MB`);

  step(`${pin.npmPackage}@${TFJS_NODE_VERSION} into node_modules (not saved to package.json)`);
  await installNative(root, pin, tarball, log);

  step('checking the backend');
  const libDir = path.join(packageDir(root, pin), 'deps');
  log(`  ${await verifyNative(root, pin)}; libraries ${(dirBytes(libDir) / 1e6).toFixed(0)} MB in ${path.relative(root, libDir)}`);
  log(`done: demo, eval and bench now default to --backend tensorflow; \`npm ci\` removes ${pin.npmPackage}, rerun this after it`);
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += dirBytes(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

if (require.main === module) {
  const program = new Command('setup:native')
    .description("Install tfjs-node's 'tensorflow' backend from PyPI's TensorFlow wheel (not saved as a dependency)")
    .option('--gpu', 'install @tensorflow/tfjs-node-gpu from the CUDA `tensorflow` wheel and its nvidia-* wheels (Linux x86_64 + NVIDIA driver)', false)
    .option('--force', 'rebuild the cached tarball and reinstall', false)
    // Then the Turbo ops as a TensorFlow custom-op library for it (scripts/build-native-ops.ts).
    .action(async (opts: SetupOptions) => {
      await setupNative(opts);
      await buildNativeOps({ force: opts.force });
    });
  program.parseAsync(process.argv).catch((e: unknown) => {
    // One line for what the user can fix; the stack only for our own bugs.
    console.error(`setup:native: ${e instanceof SetupError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  });
}
