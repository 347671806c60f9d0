// Issue 20, items 6 and 7 (signature dims): temporary directories of conversions killed mid-write
// are removed when the same OUT_DIR is written again (only ours, only real directories, only of
// dead pids), and a signature dim that is not a whole number (1e999 parses as Infinity and was
// written as null) is refused naming model.json and the field.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildProgram } from '../../src/cli/convert-with-turbo';
import { runCliInProcess } from '../helpers/cli';
import { HF_FIXTURES } from '../hf/hf_fixture';
import { dirHash } from '../helpers/dir_hash';

const M = path.join(HF_FIXTURES, 'vit-small');

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-leftovers-'));
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCliInProcess(buildProgram(), args);

/** The pid of a process that has exited (and been reaped), so kill(pid, 0) says ESRCH. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

/** A partial output as a conversion killed mid-write leaves it. */
function partial(dir: string): string {
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'saved_model.pb'), Buffer.alloc(1000, 7));
  return dir;
}

describe('stale temporary output directories', () => {
  test.each(['graph-model', 'savedmodel'])('are removed when the same OUT_DIR is written again (--format %s); nothing else is', async (format) => {
    const out = path.join(tmp, 'out');
    const dead = deadPid();
    const stale = [partial(`${out}.tmp-${dead}-k3j9xq`), partial(`${out}.tmp-${dead}-a1`)];
    // A live run (this process's parent stands in for one), another OUT_DIR, names we never make,
    // a symlink and a file with our name: all left as they are.
    const keep = [
      partial(`${out}.tmp-${process.ppid}-zzzzzz`),
      partial(path.join(tmp, `other.tmp-${dead}-k3j9xq`)),
      partial(`${out}.tmp-${dead}-k3j9xq-extra`),
      partial(`${out}.tmp-0-abcdef`),
      partial(`${out}.old-${dead}-abcdef`),
      partial(path.join(tmp, 'target')),
    ];
    fs.symlinkSync(path.join(tmp, 'target'), `${out}.tmp-${dead}-link01`);
    fs.writeFileSync(`${out}.tmp-${dead}-file01`, 'not a directory');
    const before = keep.map(dirHash);

    expect(await cli(M, out, '--r', '2', '--format', format)).toEqual({ code: 0, err: '' });

    for (const d of stale) expect(fs.existsSync(d)).toBe(false);
    expect(keep.map(dirHash)).toEqual(before);
    expect(fs.readlinkSync(`${out}.tmp-${dead}-link01`)).toBe(path.join(tmp, 'target'));
    expect(fs.readFileSync(`${out}.tmp-${dead}-file01`, 'utf8')).toBe('not a directory');
    // The new run's own temporary directory is gone too: OUT_DIR is the only new entry.
    const ours = (names: string[]) => names.filter((f) => f === 'out' || f.startsWith('out.')).sort();
    const kept = [...keep, `${out}.tmp-${dead}-link01`, `${out}.tmp-${dead}-file01`].map((p) => path.basename(p));
    expect(ours(fs.readdirSync(tmp))).toEqual(ours(['out', ...kept]));
  });

  test('a refused conversion removes nothing', async () => {
    const out = path.join(tmp, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'mine.txt'), 'user data');
    const stale = partial(`${out}.tmp-${deadPid()}-k3j9xq`);
    const r = await cli(M, out, '--r', '2');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('already exists; pass --force');
    expect(fs.existsSync(stale)).toBe(true);
  });
});

describe('signature dims', () => {
  function withDim(size: string): string {
    const dir = path.join(tmp, 'in');
    fs.cpSync(M, dir, { recursive: true });
    const file = path.join(dir, 'model.json');
    // Edited as text: JSON.stringify would turn 1e999 into null before the converter could see it.
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('{"size": "64"}', `{"size": ${size}}`).replace('{"size":"64"}', `{"size":${size}}`));
    return dir;
  }

  test.each(['1e999', '-1e999', '2.5', '"1e3"', '-2', '"12abc"'])('size %s is refused naming model.json and the field', async (size) => {
    const dir = withDim(size);
    expect(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).toContain(`${size}}`);
    const before = dirHash(dir);
    const out = path.join(tmp, 'out');
    const r = await cli(dir, out, '--r', '2');
    expect(r.code).not.toBe(0);
    expect(r.err.trimEnd().split('\n')).toEqual([
      `error: ${path.join(dir, 'model.json')}: signature.inputs.pixel_values.tensorShape.dim[2].size is not a whole number of at least -1 (-1: unknown)`,
    ]);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp)).toEqual(['in']);
    expect(dirHash(dir)).toBe(before);
  });

  test('sizes as numbers or decimal strings, -1 included, are accepted', async () => {
    const dir = withDim('64');
    expect((await cli(dir, path.join(tmp, 'out'), '--r', '2')).code).toBe(0);
  });
});
