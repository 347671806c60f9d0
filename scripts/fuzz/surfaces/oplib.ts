// The native op library (build/native: libturbo_ops.so, its manifest.json and the loader addon):
// each file damaged, replaced (by another shared library, by garbage) or redirected, the manifest
// edited, parts missing. The loader has no setting for where the library lives (it is the package
// root's build/native), so each case runs in a copy of the package root whose sources and
// node_modules are links to this one and whose build/native is a mutated copy; the child runs with
// --preserve-symlinks so it finds that root. A case loads the library, then runs a Turbo graph
// model (converted once per run) on the tensorflow backend, whose kernels call into the library.

import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../../src/paths';
import { mulberry32 } from '../../../src/rng';
import { Rand, bytesMutation, editJson, fieldMutation, fileMutation, int, jsonValueMutation, linkToCanary, pick } from '../mutations';
import { copyTree, seededCases } from '../seeded';
import { Surface, SurfaceCase, runChild } from '../surface_run';
import { nativeMissing } from './native';

const MODEL = path.join(packageRoot(), 'spec', 'fixtures', 'hf', 'vit-small');
// 'canary': the library, its manifest or the loader a link to the secret.
const KINDS = ['library', 'manifest', 'loader', 'dir', 'canary'] as const;
const LIBRARY = 'libturbo_ops.so';
const LOADER = 'turbo_loader.node';
/** A shared library that loads but registers none of our ops. */
const OTHER_LIBRARY = ['/lib/x86_64-linux-gnu/libz.so.1', '/usr/lib/x86_64-linux-gnu/libz.so.1', '/usr/lib/libz.so.1'].find((f) => fs.existsSync(f));

const MANIFEST_FIELDS = [['format'], ['tfVersion'], ['npmPackage'], ['ops']] as const;
const MANIFEST_VALUES = [2, 0, null, '1', '2.12.0', '9.9.9', '', '@tensorflow/tfjs-node-gpu', 'left-pad', [], ['TurboMerge'], ['TurboMerge', 'TurboUnmerge'], ['Bogus'], {}];

/** The copy of the package root a case runs from: package.json, links to the code and node_modules, build/native copied. */
function packageCopy(work: string): { pkg: string; native: string } {
  const pkg = path.join(work, 'pkg');
  fs.mkdirSync(pkg);
  fs.copyFileSync(path.join(packageRoot(), 'package.json'), path.join(pkg, 'package.json'));
  for (const d of ['node_modules', 'src', 'scripts', 'dist']) {
    if (fs.existsSync(path.join(packageRoot(), d))) fs.symlinkSync(path.join(packageRoot(), d), path.join(pkg, d));
  }
  const native = path.join(pkg, 'build', 'native');
  copyTree(path.join(packageRoot(), 'build', 'native'), native);
  return { pkg, native };
}

/** A file of build/native: a file operation, raw bytes, or replaced by another library or by ours. */
function nativeFileMutation(r: Rand, name: string): [string, (native: string, work: string) => void] {
  const seed = int(r, 2 ** 31);
  const how = pick(r, ['file', 'file', 'bytes', 'other-library', 'elf-header-only', 'swap']);
  const what = how === 'file' ? fileMutation(mulberry32(seed), '', '')[0] : how === 'bytes' ? `bytes ${bytesMutation(mulberry32(seed), '')[0]}` : how;
  return [
    `${name} ${what}`,
    (native, work) => {
      const file = path.join(native, name);
      if (how === 'file') fileMutation(mulberry32(seed), file, work)[1]();
      else if (how === 'bytes') bytesMutation(mulberry32(seed), file)[1]();
      else if (how === 'other-library') OTHER_LIBRARY ? fs.copyFileSync(OTHER_LIBRARY, file) : fs.writeFileSync(file, '');
      else if (how === 'elf-header-only') fs.truncateSync(file, 64);
      else fs.copyFileSync(path.join(native, name === LIBRARY ? LOADER : LIBRARY), file);
    },
  ];
}

function manifestMutation(r: Rand): [string, (native: string, work: string) => void] {
  const how = pick(r, ['field', 'field', 'json', 'file']);
  if (how === 'file') return nativeFileMutation(r, 'manifest.json');
  const [what, edit] = how === 'field' ? fieldMutation(r, MANIFEST_FIELDS, MANIFEST_VALUES) : jsonValueMutation(r);
  return [`manifest.json ${what}`, (native) => editJson(native, edit, 'manifest.json')];
}

function dirMutation(r: Rand): [string, (native: string, work: string) => void] {
  const op = pick(r, ['missing', 'is-file', 'no-library', 'no-manifest', 'no-loader', 'link-outside']);
  return [
    `build/native ${op}`,
    (native, work) => {
      switch (op) {
        case 'missing':
          fs.rmSync(native, { recursive: true });
          break;
        case 'is-file':
          fs.rmSync(native, { recursive: true });
          fs.writeFileSync(native, '');
          break;
        case 'no-library':
          fs.rmSync(path.join(native, LIBRARY));
          break;
        case 'no-manifest':
          fs.rmSync(path.join(native, 'manifest.json'));
          break;
        case 'no-loader':
          fs.rmSync(path.join(native, LOADER));
          break;
        case 'link-outside':
          // The library file a link to a copy of itself outside build/native.
          fs.renameSync(path.join(native, LIBRARY), path.join(work, LIBRARY));
          fs.symlinkSync(path.join(work, LIBRARY), path.join(native, LIBRARY));
          break;
      }
    },
  ];
}

function opLibraryCase(root: string) {
  return (id: number, kind: string, r: Rand): SurfaceCase => {
    const canary = kind === 'canary' ? pick(r, [LIBRARY, 'manifest.json', LOADER]) : LIBRARY;
    const [what, mutate]: [string, (native: string, work: string) => void] =
      kind === 'library'
        ? nativeFileMutation(r, LIBRARY)
        : kind === 'manifest'
          ? manifestMutation(r)
          : kind === 'loader'
            ? nativeFileMutation(r, LOADER)
            : kind === 'canary'
              ? [`${canary} -> canary`, (native, work) => linkToCanary(path.join(native, canary), work)]
              : dirMutation(r);
    return {
      id,
      kind,
      what,
      prepare: (work) => {
        const { pkg, native } = packageCopy(work);
        mutate(native, work);
        const model = path.join(root, 'turbo');
        const inputs = [model, ...(fs.existsSync(native) && fs.statSync(native).isDirectory() ? [native] : [])];
        return { argv: ['load-oplib', model], inputs, success: 'loaded', packageRoot: pkg };
      },
    };
  };
}

export const opLibrarySurface: Surface = {
  name: 'oplib',
  kinds: KINDS,
  missing: nativeMissing,
  async setup(root) {
    const run = await runChild(root, ['convert-with-turbo', MODEL, path.join(root, 'turbo'), '--r', '2']);
    if (run.result?.code !== 0) throw new Error(`converting the model to fuzz with failed: ${run.stderr.trim()}`);
    fs.rmSync(path.join(root, 'tmp'), { recursive: true, force: true });
  },
  cases: (seed, count, root) => seededCases(seed, count, KINDS, opLibraryCase(root)),
};
