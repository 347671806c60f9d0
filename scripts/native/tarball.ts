// Builds the libtensorflow tarball tfjs-node's installer expects, from a TensorFlow wheel:
//
//   lib/libtensorflow_cc.so.2, lib/libtensorflow_framework.so.2          the wheel's libraries
//   lib/libtensorflow.so{,.2,.2.9.1} -> libtensorflow_cc.so.2            the names binding.gyp links
//   lib/libtensorflow_framework.so{,.2.9.1} -> libtensorflow_framework.so.2
//   include/                                                             the binding's header closure
//
// libtensorflow_cc.so.2 is a superset of the C library libtensorflow.so.2 (same TF_*/TFE_* exports),
// which is why the renaming works; check-abi.ts verifies it after the build.

import * as fs from 'fs';
import * as path from 'path';
import { LIBTENSORFLOW_NAME_VERSION } from './pins';
import { headerClosure } from './headers';
import { capture, probe, run, SetupError } from './proc';

const LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];

export interface TarballOptions {
  python: string;
  /**
   * Wheels whose nvidia/<name>/lib/ directories go into the tarball as they are (the GPU variant's
   * CUDA libraries): the TF libraries' RUNPATH has $ORIGIN/../nvidia/<name>/lib, which from
   * deps/lib is deps/nvidia/<name>/lib, the same layout the wheels have in site-packages.
   */
  nvidiaWheels?: string[];
  log: (line: string) => void;
}

/** Writes the tarball to `out` (a temporary name the caller renames). `work` is an empty scratch directory. */
export async function buildTarball(wheel: string, work: string, out: string, opts: TarballOptions): Promise<void> {
  const unpacked = path.join(work, 'wheel');
  const stage = path.join(work, 'stage');
  opts.log(`  extracting the libraries and headers from ${path.basename(wheel)}`);
  await extractFromWheel(opts.python, wheel, unpacked, `^tensorflow/((${LIBS.join('|').replace(/\./g, '\\.')})$|include/(tensorflow|tsl)/)`);
  const lib = path.join(stage, 'lib');
  fs.mkdirSync(lib, { recursive: true });
  for (const l of LIBS) {
    const src = path.join(unpacked, 'tensorflow', l);
    if (!fs.existsSync(src)) throw new SetupError(`${path.basename(wheel)} has no tensorflow/${l}: not a wheel this route can use`);
    fs.renameSync(src, path.join(lib, l));
  }
  for (const w of opts.nvidiaWheels ?? []) {
    opts.log(`  extracting the CUDA libraries from ${path.basename(w)}`);
    await extractFromWheel(opts.python, w, stage, '^nvidia/[^/]+/lib/');
  }
  await stripLibraries(lib, opts.log);
  const v = LIBTENSORFLOW_NAME_VERSION;
  for (const name of ['libtensorflow.so', 'libtensorflow.so.2', `libtensorflow.so.${v}`]) fs.symlinkSync('libtensorflow_cc.so.2', path.join(lib, name));
  for (const name of ['libtensorflow_framework.so', `libtensorflow_framework.so.${v}`]) fs.symlinkSync('libtensorflow_framework.so.2', path.join(lib, name));

  const includeDir = path.join(unpacked, 'tensorflow', 'include');
  let headers: string[];
  try {
    headers = headerClosure(includeDir);
  } catch (e) {
    throw new SetupError(`${path.basename(wheel)}: ${(e as Error).message}`);
  }
  for (const h of headers) {
    const dst = path.join(stage, 'include', h);
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(path.join(includeDir, h), dst);
  }
  opts.log(`  ${headers.length} headers; compressing (gzip -1: the tarball is only read back here)`);
  // --use-compress-program: GNU tar; level 1 is ~3x faster than the default for ~10% more bytes.
  const top = fs.readdirSync(stage).sort(); // lib, include, and nvidia for the GPU variant
  await run('tar', ['-C', stage, '--use-compress-program=gzip -1', '-cf', out, ...top], 'packing the libtensorflow tarball');
}

/** Unpacks the members whose names match `pattern` (a Python regex) with Python's zipfile: pip needs Python anyway, unzip may be missing. */
function extractFromWheel(python: string, wheel: string, dest: string, pattern: string): Promise<void> {
  const code =
    'import re, sys, zipfile\n' +
    'z = zipfile.ZipFile(sys.argv[1])\n' +
    'for n in z.namelist():\n' +
    '    if re.match(sys.argv[3], n): z.extract(n, sys.argv[2])\n';
  return run(python, ['-c', code, wheel, dest, pattern], `extracting ${path.basename(wheel)}`);
}

/**
 * The wheel's libraries keep their full symbol tables (about 150 MB of 550); the dynamic symbols the
 * binding links against live in .dynsym, which --strip-unneeded keeps. Skipped when binutils' strip
 * is missing (the install then is just larger).
 */
async function stripLibraries(lib: string, log: (line: string) => void): Promise<void> {
  if (probe('strip', ['--version']) === null) {
    log('  strip (binutils) not found: keeping the libraries unstripped');
    return;
  }
  for (const f of fs.readdirSync(lib)) {
    const file = path.join(lib, f);
    const before = fs.statSync(file).size;
    await capture('strip', ['--strip-unneeded', file], `stripping ${f}`);
    log(`  stripped ${f}: ${(before / 1e6).toFixed(0)} -> ${(fs.statSync(file).size / 1e6).toFixed(0)} MB`);
  }
}
