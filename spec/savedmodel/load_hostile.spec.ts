// loadTurboSavedModel on hostile SavedModel directories (issue 20): saved_model.pb a FIFO, a link
// to /dev/zero or out of the directory, garbage, empty, truncated or without the serve MetaGraph;
// fingerprint.pb and variables/ (which TensorFlow opens itself) FIFOs, links and missing. Each is
// refused in one line naming the file, quickly, with the directory untouched. These checks run
// before tfjs-node is loaded, so they need no native install; the last block does.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TurboInputError } from '../../src/errors';
import { loadTurboSavedModel } from '../../src/savedmodel/load';
import { readSavedModelDir } from '../../src/savedmodel/read_dir';
import { nativeInstalled } from '../helpers/backends';
import { dirHash } from '../helpers/dir_hash';
import { runInNode } from '../helpers/node_child';
import { notTested } from '../helpers/required';
import { LoadOutcome } from './load_child';
import { tinySavedModelBytes, writeTinySavedModel } from './tiny_savedmodel';

const HANG_MS = 10000;
const CHILD = path.join(__dirname, 'load_child.ts');

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-sm-hostile-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const mkfifo = (p: string) => execFileSync('mkfifo', [p]);

/** What `load` rejected with, failing if it resolved or took longer than HANG_MS. */
async function refusal(load: Promise<unknown>): Promise<TurboInputError> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${HANG_MS} ms`)), HANG_MS)));
  try {
    await Promise.race([load, hang]);
  } catch (e) {
    if (e instanceof TurboInputError) return e;
    throw e;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('loaded a SavedModel that should have been refused');
}

/** Refused naming `file` (a path inside the model directory) and `problem`, in one line, the directory unchanged. */
async function expectRefused(dir: string, file: string, problem: string | RegExp): Promise<void> {
  const before = snapshot(dir);
  const e = await refusal(loadTurboSavedModel(dir));
  expect(e.file).toBe(path.join(dir, file));
  expect(e.message).not.toContain('\n');
  expect(e.problem).toMatch(problem);
  expect(snapshot(dir)).toBe(before);
}

/** The directory and its variables/ (when a real directory), to show neither was touched. */
function snapshot(dir: string): string {
  const vars = path.join(dir, 'variables');
  const isDir = fs.lstatSync(vars, { throwIfNoEntry: false })?.isDirectory();
  return dirHash(dir) + (isDir ? dirHash(vars) : '');
}

const model = (o = {}) => writeTinySavedModel(path.join(tmp, 'm'), o);
const pb = (dir: string) => path.join(dir, 'saved_model.pb');

describe('1. saved_model.pb is read as a bounded regular file inside the directory', () => {
  test('a FIFO is refused at once, not read', async () => {
    const m = model();
    fs.rmSync(pb(m));
    mkfifo(pb(m));
    await expectRefused(m, 'saved_model.pb', 'is a FIFO, expected a regular file');
  });

  test('a link to /dev/zero is refused, not read until memory runs out', async () => {
    const m = model();
    fs.rmSync(pb(m));
    fs.symlinkSync('/dev/zero', pb(m));
    await expectRefused(m, 'saved_model.pb', 'is a symlink that leaves its directory');
  });

  test('a link to a valid saved_model.pb outside the directory is refused', async () => {
    const outside = path.join(tmp, 'outside.pb');
    fs.writeFileSync(outside, tinySavedModelBytes());
    const m = model();
    fs.rmSync(pb(m));
    fs.symlinkSync(outside, pb(m));
    await expectRefused(m, 'saved_model.pb', 'leaves its directory');
  });

  test('a link that stays inside the directory is read', async () => {
    const m = model();
    fs.renameSync(pb(m), path.join(m, 'graph.pb'));
    fs.symlinkSync('graph.pb', pb(m));
    expect(await readSavedModelDir(m)).toEqual(tinySavedModelBytes());
  });

  test('a missing directory is named as such', async () => {
    const e = await refusal(loadTurboSavedModel(path.join(tmp, 'nope')));
    expect(e.message).toBe(`${path.join(tmp, 'nope')}: not found`);
  });
});

describe('2. a saved_model.pb that is not a serving SavedModel: one line naming the file', () => {
  test.each<[string, () => Buffer, string | RegExp]>([
    ['empty', () => Buffer.alloc(0), 'is empty; not a SavedModel protobuf'],
    ['garbage', () => Buffer.from('this is not a protobuf at all, only text\n'.repeat(4)), /^not a SavedModel protobuf \(invalid wire type \d+ at offset \d+\)$/],
    ['truncated', () => tinySavedModelBytes().subarray(0, 40), 'not a SavedModel protobuf (truncated, or not protobuf)'],
    ['a MetaGraph tagged train only', () => tinySavedModelBytes({ tags: ['train'] }), 'has no MetaGraph tagged serve'],
    ['tagged serve and gpu (tfjs-node wants serve alone)', () => tinySavedModelBytes({ tags: ['serve', 'gpu'] }), 'has no MetaGraph tagged serve'],
    ['no serving_default signature', () => tinySavedModelBytes({ signature: 'predict' }), 'its serve MetaGraph has no serving_default signature'],
  ])('%s', async (_, bytes, problem) => {
    const m = model();
    fs.writeFileSync(pb(m), bytes());
    await expectRefused(m, 'saved_model.pb', problem);
  });
});

describe('files TensorFlow opens itself are checked first', () => {
  test('fingerprint.pb a FIFO (TensorFlow 2.12 reads it and would hang)', async () => {
    const m = model();
    mkfifo(path.join(m, 'fingerprint.pb'));
    await expectRefused(m, 'fingerprint.pb', 'is a FIFO');
  });

  test('fingerprint.pb linked out of the directory', async () => {
    const m = model();
    fs.symlinkSync('/etc/hostname', path.join(m, 'fingerprint.pb'));
    await expectRefused(m, 'fingerprint.pb', 'leaves its directory');
  });

  const index = path.join('variables', 'variables.index');
  test.each<[string, (m: string) => void, string, string]>([
    ['variables/ missing', (m) => fs.rmSync(path.join(m, 'variables'), { recursive: true }), index, 'not found; the graph restores variables'],
    ['variables.index missing', () => undefined, index, 'not found; the graph restores variables'],
    ['variables.index a FIFO', (m) => mkfifo(path.join(m, index)), index, 'is a FIFO'],
    ['variables.index linked to /dev/zero', (m) => fs.symlinkSync('/dev/zero', path.join(m, index)), index, 'leaves its directory'],
    ['variables/ linked out of the directory', (m) => {
      fs.rmSync(path.join(m, 'variables'), { recursive: true });
      fs.mkdirSync(path.join(tmp, 'elsewhere'));
      fs.writeFileSync(path.join(tmp, 'elsewhere', 'variables.index'), 'x');
      fs.symlinkSync(path.join(tmp, 'elsewhere'), path.join(m, 'variables'));
    }, index, 'leaves its directory'],
    ['a data shard a FIFO', (m) => {
      fs.writeFileSync(path.join(m, index), 'x');
      mkfifo(path.join(m, 'variables', 'variables.data-00000-of-00001'));
    }, path.join('variables', 'variables.data-00000-of-00001'), 'is a FIFO'],
  ])('a graph with variables (saver_def): %s', async (_, damage, file, problem) => {
    const m = model({ saverDef: true });
    damage(m);
    await expectRefused(m, file, problem);
  });
});

if (!nativeInstalled()) {
  notTested('native', 'SavedModels that pass the checks, in TensorFlow', 'tfjs-node is not installed (`npm run setup:native`)');
} else {
  describe('in TensorFlow (tfjs-node, in a node child)', () => {
    const load = (dir: string) => runInNode<LoadOutcome>(CHILD, 'loadAndRun', [dir]);

    test('variables/ missing or damaged in a graph without variables: TensorFlow never reads it, the model runs', async () => {
      const gone = model();
      fs.rmSync(path.join(gone, 'variables'), { recursive: true });
      expect(await load(gone)).toEqual({ output: [1, 2] });
      const damaged = writeTinySavedModel(path.join(tmp, 'damaged'));
      fs.writeFileSync(path.join(damaged, 'variables', 'variables.index'), 'not an sstable');
      expect(await load(damaged)).toEqual({ output: [1, 2] });
    }, 60000);

    test("what TensorFlow itself refuses is still one line naming saved_model.pb (a saver_def whose restore op isn't in the graph)", async () => {
      const m = model({ saverDef: true });
      fs.writeFileSync(path.join(m, 'variables', 'variables.index'), 'not an sstable');
      const r = await load(m);
      expect(r.error?.name).toBe('TurboInputError');
      expect(r.error?.message).toMatch(new RegExp(`^${pb(m).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: TensorFlow cannot load it \\(Failed to load SavedModel: [^\\n]+\\)$`));
    }, 60000);
  });
}
