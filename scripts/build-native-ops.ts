#!/usr/bin/env node
// npm run build:native-ops [-- --force]
//
// Builds the Turbo ops as a TensorFlow custom-op library for the TensorFlow tfjs-node loaded
// (installed by `npm run setup:native`, which runs this at its end):
//
//   build/native/libturbo_ops.so     REGISTER_OP + kernels (native/ops/*.cc, native/turbo/merge_core.h)
//   build/native/turbo_loader.node   N-API addon calling TF_LoadLibrary (native/loader/turbo_loader.cc)
//   build/native/manifest.json       what was built against, read by src/native/op_library.ts
//
// Compile and link flags are tf.sysconfig's for the wheel setup:native installed, derived without
// importing TensorFlow in Python: the headers come from the same cached wheel (tensorflow/include),
// the C++ ABI from the framework library's own symbols; C++17 and EIGEN_MAX_ALIGN_BYTES=64 are what
// tf.sysconfig.get_compile_flags() prints for the 2.12 and 2.15 wheels. Link: -l:libtensorflow_framework.so.2
// from tfjs-node's deps/lib with -z defs, so a missing symbol fails here and not at load time.
//
// A failure prints one line and leaves nothing half-built: without build/native the Turbo ops keep
// running as composites on the tensorflow backend.

import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { packageRoot } from '../src/paths';
import { atomically, cacheDir } from './native/cache';
import { PINS, Variant, VariantPin } from './native/pins';
import { probe, SetupError } from './native/proc';
import { cachedWheel, findPython } from './native/wheel';

/** Bump when the op library's sources or flags change in a way an old build must not survive. */
export const OPS_BUILD_FORMAT = 1;

/** Sources compiled into libturbo_ops.so (relative to native/). */
const OP_SOURCES = ['ops/turbo_ops.cc', 'ops/turbo_kernels_cpu.cc'];

export interface BuildManifest {
  format: number;
  tfVersion: string;
  wheelProject: string;
  npmPackage: string;
  libDir: string;
  cxx11Abi: 0 | 1;
  gpuKernel: boolean;
  ops: string[];
}

interface BuildOptions {
  force: boolean;
}

/** tfjs-node (-gpu preferred, like src/runtime/backend.ts) as installed, with its pin. */
function installedNative(root: string): { pin: VariantPin; variant: Variant; dir: string } {
  for (const variant of ['gpu', 'cpu'] as const) {
    const pin = PINS[variant];
    const dir = path.join(root, 'node_modules', ...pin.npmPackage.split('/'));
    if (fs.existsSync(path.join(dir, 'deps', 'lib', 'libtensorflow_framework.so.2'))) return { pin, variant, dir };
  }
  throw new SetupError('tfjs-node is not installed (no node_modules/@tensorflow/tfjs-node/deps/lib): run `npm run setup:native` first');
}

/** tensorflow/include of the cached wheel, unpacked once into the cache. */
async function wheelHeaders(pin: VariantPin, log: (s: string) => void): Promise<string> {
  const cache = cacheDir();
  const dir = path.join(cache, 'op-headers', `${pin.wheelProject}-${pin.tfVersion}`);
  const include = path.join(dir, 'tensorflow', 'include');
  if (fs.existsSync(path.join(include, 'tensorflow', 'core', 'framework', 'op_kernel.h'))) return include;
  const wheel = cachedWheel(path.join(cache, 'wheels'), pin.wheelProject, pin.tfVersion);
  if (!wheel) throw new SetupError(`no cached ${pin.wheelProject} ${pin.tfVersion} wheel in ${path.join(cache, 'wheels')}: run \`npm run setup:native\` first`);
  log(`  unpacking tensorflow/include from ${path.basename(wheel)} into ${dir}`);
  const python = findPython();
  const code =
    'import sys, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'for n in z.namelist():\n' +
    "    if n.startswith('tensorflow/include/'): z.extract(n, sys.argv[2])\n";
  await atomically(dir, async (tmp) => {
    await exec(python, ['-c', code, wheel, tmp], `unpacking the headers of ${path.basename(wheel)}`);
  });
  return include;
}

/**
 * The C++ ABI the framework library was built with (tf.sysconfig's _GLIBCXX_USE_CXX11_ABI): its
 * exported std::string signatures are mangled with __cxx11 under ABI 1 and without under ABI 0.
 */
export function cxx11Abi(frameworkLib: string): 0 | 1 {
  const bytes = fs.readFileSync(frameworkLib);
  return bytes.indexOf('NSt7__cxx1112basic_string') >= 0 ? 1 : 0;
}

/** Runs a compiler; rejects with `what` and the first error line of its output. */
function exec(cmd: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.on('error', (e) => reject(new SetupError(`${what}: cannot start ${cmd} (${e.message})`)));
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const first = err.split('\n').find((l) => /error|undefined reference/i.test(l)) ?? err.trim().split('\n').pop() ?? '';
      reject(new SetupError(`${what}: ${cmd} exited with ${code}: ${first.trim()}`));
    });
  });
}

/** Node's headers (node_api.h): npm_config_nodedir, next to the node binary, or /usr/include/node. */
function nodeIncludeDir(): string {
  const candidates = [
    process.env.npm_config_nodedir && path.join(process.env.npm_config_nodedir, 'include', 'node'),
    path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node'),
    '/usr/include/node',
  ].filter((d): d is string => !!d);
  const hit = candidates.find((d) => fs.existsSync(path.join(d, 'node_api.h')));
  if (!hit) throw new SetupError(`no node_api.h in ${candidates.join(', ')}: install Node's headers (Debian: apt-get install libnode-dev) or set npm_config_nodedir`);
  return hit;
}

export async function buildNativeOps(opts: BuildOptions, log: (s: string) => void = (s) => console.error(s)): Promise<BuildManifest> {
  const root = packageRoot();
  const { pin, variant, dir } = installedNative(root);
  const out = path.join(root, 'build', 'native');
  const manifestFile = path.join(out, 'manifest.json');
  if (!opts.force && fs.existsSync(manifestFile)) {
    const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as BuildManifest;
    if (m.format === OPS_BUILD_FORMAT && m.tfVersion === pin.tfVersion && m.npmPackage === pin.npmPackage && !sourcesNewerThan(root, manifestFile)) {
      log(`Turbo op library is up to date: ${path.relative(root, out)} (${m.ops.join(', ')}; --force rebuilds)`);
      return m;
    }
  }
  const cxx = process.env.CXX || 'g++';
  if (probe(cxx, ['--version']) === null) throw new SetupError(`no C++ compiler (${cxx}): install g++ (Debian: apt-get install g++) or set CXX`);
  const libDir = path.join(dir, 'deps', 'lib');
  log(`building the Turbo op library for ${pin.npmPackage} (TensorFlow ${pin.tfVersion})`);
  const include = await wheelHeaders(pin, log);
  const abi = cxx11Abi(path.join(libDir, 'libtensorflow_framework.so.2'));
  const native = path.join(root, 'native');
  const cflags = ['-std=c++17', '-O2', '-fPIC', `-D_GLIBCXX_USE_CXX11_ABI=${abi}`, '-DEIGEN_MAX_ALIGN_BYTES=64',
    // merge_core.h mirrors the TS reference's separate multiply and add: no FMA contraction.
    '-ffp-contract=off', '-w', `-I${include}`, `-I${native}`];
  // The absolute rpath lets Python's tf.load_op_library find the framework library too; in Node
  // the already-loaded copy is reused by soname.
  const ldflags = [`-L${libDir}`, `-Wl,-rpath,${libDir}`];

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-ops-'));
  try {
    log(`  compiling ${OP_SOURCES.length} sources (C++ ABI ${abi}) and the loader addon`);
    const objects = OP_SOURCES.map((s) => path.join(work, path.basename(s).replace(/\.cc$/, '.o')));
    const loader = path.join(work, 'turbo_loader.node');
    // In parallel: the TensorFlow headers make each file a long compile.
    await Promise.all([
      ...OP_SOURCES.map((s, i) => exec(cxx, [...cflags, '-c', path.join(native, s), '-o', objects[i]], `compiling native/${s}`)),
      exec(cxx, ['-std=c++17', '-O2', '-fPIC', '-shared', `-I${nodeIncludeDir()}`, `-I${include}`,
        path.join(native, 'loader', 'turbo_loader.cc'), '-o', loader, ...ldflags, '-l:libtensorflow_cc.so.2'], 'compiling native/loader/turbo_loader.cc'),
    ]);
    const gpuLink: string[] = [];
    const gpuKernel = variant === 'gpu' && (await maybeBuildGpuKernel(cxx, cflags, native, work, objects, gpuLink, log));
    const lib = path.join(work, 'libturbo_ops.so');
    await exec(cxx, ['-shared', ...objects, '-o', lib, ...ldflags, '-l:libtensorflow_framework.so.2', ...gpuLink, '-Wl,-z,defs'], 'linking libturbo_ops.so');

    const ops = await verifyInChild(root, pin.npmPackage, loader, lib);
    const manifest: BuildManifest = { format: OPS_BUILD_FORMAT, tfVersion: pin.tfVersion, wheelProject: pin.wheelProject, npmPackage: pin.npmPackage, libDir, cxx11Abi: abi, gpuKernel, ops };
    fs.writeFileSync(path.join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // Replace the whole directory at once: a reader never sees a new library with an old loader.
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(out), { recursive: true });
    for (const f of ['libturbo_ops.so', 'turbo_loader.node', 'manifest.json']) {
      fs.mkdirSync(out, { recursive: true });
      fs.copyFileSync(path.join(work, f), path.join(out, f));
    }
    log(`  ${path.relative(root, out)}: ${ops.join(', ')}${gpuKernel ? ' (with the CUDA TurboMerge kernel)' : ''}`);
    return manifest;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Whether a file under native/ changed after the last build. */
function sourcesNewerThan(root: string, file: string): boolean {
  const t = fs.statSync(file).mtimeMs;
  const walk = (d: string): boolean =>
    fs.readdirSync(d, { withFileTypes: true }).some((e) => {
      const p = path.join(d, e.name);
      return e.isDirectory() ? walk(p) : fs.statSync(p).mtimeMs > t;
    });
  return walk(path.join(root, 'native'));
}

/**
 * The CUDA TurboMerge kernel, for tfjs-node-gpu: native/cuda/turbo_merge.cu (TF-free) by nvcc, and
 * its TF registration native/ops/turbo_merge_gpu.cc by the C++ compiler with GOOGLE_CUDA=1, both
 * when nvcc is on PATH. Without nvcc the library has CPU kernels only, and TensorFlow places
 * TurboMerge on the CPU. Untested here: no machine with both tfjs-node-gpu and nvcc was at hand.
 */
async function maybeBuildGpuKernel(cxx: string, cflags: string[], native: string, work: string, objects: string[], linkFlags: string[], log: (s: string) => void): Promise<boolean> {
  const nvcc = process.env.NVCC || 'nvcc';
  if (probe(nvcc, ['--version']) === null) {
    log('  no nvcc on PATH: CPU kernels only (the CUDA TurboMerge kernel needs the CUDA toolkit)');
    return false;
  }
  const cudaHome = path.dirname(path.dirname(probe('sh', ['-c', `command -v ${nvcc}`])?.trim() || nvcc));
  const kernel = path.join(work, 'turbo_merge_cuda.o');
  const registration = path.join(work, 'turbo_merge_gpu.o');
  await Promise.all([
    exec(nvcc, ['-std=c++17', '-O2', '--fmad=false', '-Xcompiler', '-fPIC', `-I${native}`, '-c', path.join(native, 'cuda', 'turbo_merge.cu'), '-o', kernel],
      'compiling native/cuda/turbo_merge.cu'),
    exec(cxx, [...cflags, '-DGOOGLE_CUDA=1', `-I${path.join(cudaHome, 'include')}`, '-c', path.join(native, 'ops', 'turbo_merge_gpu.cc'), '-o', registration],
      'compiling native/ops/turbo_merge_gpu.cc'),
  ]);
  objects.push(kernel, registration);
  linkFlags.push(`-L${path.join(cudaHome, 'lib64')}`, '-lcudart');
  return true;
}

/** Loads the fresh build in a child Node with tfjs-node, as src/native/op_library.ts will: returns the op names. */
async function verifyInChild(root: string, npmPackage: string, loader: string, lib: string): Promise<string[]> {
  const code = `require(${JSON.stringify(npmPackage)});
const ops = require(${JSON.stringify(loader)}).load(${JSON.stringify(lib)});
process.stdout.write(JSON.stringify(ops));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.on('close', (status, signal) => {
      const ops = status === 0 ? (JSON.parse(out) as string[]) : [];
      if (ops.includes('TurboMerge')) resolve(ops);
      else reject(new SetupError(`the built library does not load into ${npmPackage}'s TensorFlow (${signal ?? `exit ${status}`}): ${err.trim().split('\n').pop() ?? out}`));
    });
  });
}

if (require.main === module) {
  new Command('build:native-ops')
    .description("Build the Turbo ops as a TensorFlow custom-op library for tfjs-node's TensorFlow (build/native)")
    .option('--force', 'rebuild even when up to date', false)
    .action(async (opts: BuildOptions) => {
      await buildNativeOps(opts);
    })
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      console.error(`build:native-ops: ${e instanceof SetupError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}; the Turbo ops keep running as composites on the tensorflow backend`);
      process.exitCode = 1;
    });
}
