// The op library loader on a hostile build directory (issue 20): the library, its loader addon or
// manifest.json a FIFO or a link to /dev/zero (dlopen and require would block or read for ever),
// a manifest for other ops, and a library that loads but is not ours (any shared library loads;
// TensorFlow then fails later with "Invalid TF_Status: 5" or "Op type not registered"). Each is
// refused with one line naming the file and how to rebuild. Loading runs in a node child, each
// with a time limit; the file checks come before tfjs-node, so only the last block needs it.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TurboOpLibrary, opsMismatch, turboOpLibraryPath } from '../../src/native/op_library';
import { dirHash } from '../helpers/dir_hash';
import { runInNode } from '../helpers/node_child';
import { LoadOutcome } from '../savedmodel/load_child';
import { writeTinySavedModel } from '../savedmodel/tiny_savedmodel';
import { describeNative } from './helpers';

const HANG_MS = 20000;
const CHILD = path.join(__dirname, 'op_library_child.ts');
const BUILD = path.dirname(turboOpLibraryPath());
const REBUILD = 'rebuild it with `npm run build:native-ops -- --force`';
const OPS = ['TurboMerge', 'TurboPropAttnBias', 'TurboUnmerge'];

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-oplib-hostile-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const mkfifo = (p: string) => execFileSync('mkfifo', [p]);

/** A build directory: the real build's files when there is one, else placeholders (never loaded by these tests). */
function fakeBuild(manifest: Record<string, unknown> = {}): string {
  const dir = path.join(tmp, 'build');
  fs.mkdirSync(dir);
  for (const f of ['libturbo_ops.so', 'turbo_loader.node']) {
    if (fs.existsSync(path.join(BUILD, f))) fs.copyFileSync(path.join(BUILD, f), path.join(dir, f));
    else fs.writeFileSync(path.join(dir, f), 'placeholder');
  }
  const m = { format: 1, npmPackage: '@tensorflow/tfjs-node', tfVersion: '2.12.0', ops: OPS, ...manifest };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

async function loadFrom(buildDir: string, savedModelDir?: string): Promise<{ library: TurboOpLibrary; savedModel?: LoadOutcome }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the loader did not answer in ${HANG_MS} ms`)), HANG_MS)));
  try {
    return await Promise.race([runInNode<{ library: TurboOpLibrary; savedModel?: LoadOutcome }>(CHILD, 'loadOpLibraryFrom', [buildDir, savedModelDir]), hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the build files are read as bounded regular files before anything loads them', () => {
  test.each<[string, string, (p: string) => void, string]>([
    ['the library a FIFO', 'libturbo_ops.so', mkfifo, 'is a FIFO, expected a regular file'],
    ['the library a link to /dev/zero', 'libturbo_ops.so', (p) => fs.symlinkSync('/dev/zero', p), 'is a device, expected a regular file'],
    ['the loader addon a FIFO', 'turbo_loader.node', mkfifo, 'is a FIFO, expected a regular file'],
    ['manifest.json a FIFO', 'manifest.json', mkfifo, 'is a FIFO, expected a regular file'],
    ['manifest.json a link to /dev/zero', 'manifest.json', (p) => fs.symlinkSync('/dev/zero', p), 'is a device, expected a regular file'],
    ['manifest.json not JSON', 'manifest.json', (p) => fs.writeFileSync(p, 'root:x:0:0:root:/root:/bin/bash\n'), 'not valid JSON (not a JSON document)'],
    ['manifest.json not a manifest', 'manifest.json', (p) => fs.writeFileSync(p, 'null'), 'is not an op library manifest (npmPackage, tfVersion, ops)'],
  ])('%s', async (_, name, replace, problem) => {
    const dir = fakeBuild();
    fs.rmSync(path.join(dir, name));
    replace(path.join(dir, name));
    const before = dirHash(dir);
    const { library } = await loadFrom(dir);
    expect(library.loaded).toBe(false);
    expect(library.error).toBe(`${path.join(dir, name)}: ${problem}: ${REBUILD}`);
    expect(dirHash(dir)).toBe(before);
  }, HANG_MS + 5000);

  test('a manifest of a build without TurboPropAttnBias is refused before loading', async () => {
    const dir = fakeBuild({ ops: ['TurboMerge', 'TurboUnmerge'] });
    const { library } = await loadFrom(dir);
    expect(library).toEqual({
      loaded: false,
      path: path.join(dir, 'libturbo_ops.so'),
      error: `${path.join(dir, 'manifest.json')}: lists TurboMerge, TurboUnmerge but not TurboPropAttnBias: ${REBUILD}`,
    });
  }, HANG_MS + 5000);
});

test('opsMismatch: exactly the three native Turbo ops, in any order', () => {
  expect(opsMismatch(['TurboUnmerge', 'TurboMerge', 'TurboPropAttnBias'], 'registers')).toBeNull();
  expect(opsMismatch(['TurboMerge', 'TurboUnmerge'], 'registers')).toBe('registers TurboMerge, TurboUnmerge but not TurboPropAttnBias');
  expect(opsMismatch([], 'registers')).toBe('registers no op, expected TurboMerge, TurboPropAttnBias, TurboUnmerge');
  expect(opsMismatch([...OPS, 'Evil'], 'lists')).toBe('also lists Evil, which are not Turbo ops');
});

describeNative('in TensorFlow: the library must register exactly the Turbo ops', () => {
  test('another shared library in its place loads but is refused by its ops; a Turbo SavedModel then says how to rebuild', async () => {
    const dir = fakeBuild();
    // Any shared library will do: the loader addon is one, and registers no op.
    fs.copyFileSync(path.join(BUILD, 'turbo_loader.node'), path.join(dir, 'libturbo_ops.so'));
    const model = writeTinySavedModel(path.join(tmp, 'model'), { extraOp: 'TurboMerge' });
    const { library, savedModel } = await loadFrom(dir, model);
    const lib = path.join(dir, 'libturbo_ops.so');
    expect(library).toEqual({ loaded: false, path: lib, ops: [], error: `${lib}: registers no op, expected ${OPS.join(', ')}; it is not this version's Turbo op library: ${REBUILD}` });
    expect(savedModel?.error).toEqual({ name: 'TurboInputError', message: `${model}: uses TurboMerge, but ${library.error}` });
  }, 60000);

  test('a copy of the real build loads, with exactly the Turbo ops', async () => {
    const dir = path.join(tmp, 'copy');
    fs.cpSync(BUILD, dir, { recursive: true });
    const { library } = await loadFrom(dir);
    expect(library.error).toBeUndefined();
    expect(library.loaded).toBe(true);
    expect([...library.ops!].sort()).toEqual(OPS);
  }, 60000);
});
