// Where a converted model may be written. Paths are compared as the filesystem sees them
// (fs.realpath, parents included), so a symlink cannot make the output land in the input;
// --force replaces only a directory that holds a tfjs graph model, never a file, device, FIFO or
// symlink; and without --force the output directory is claimed exclusively (mkdir), so two
// conversions racing for one OUT_DIR cannot both succeed.

import * as fsp from 'fs/promises';
import * as path from 'path';
import { OutputError } from './errors';

/** Files a graph model directory may hold beside model.json and its *.bin shards. */
const SIDE_FILES = new Set(['preprocessing.json', 'imagenet-classes.txt', 'labels.txt', 'tokenizer.json', 'turbo-tune.json', 'README.md']);

const REPLACE_RULE = '--force replaces only a directory holding a tfjs graph model';

function errnoProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'ENOSPC') return 'no space left on device';
  if (code === 'ENOTDIR') return 'a parent of it is not a directory';
  if (code === 'ENAMETOOLONG') return 'name too long';
  if (code === 'EDQUOT') return 'disk quota exceeded';
  return code ?? (e instanceof Error ? e.message : String(e));
}

/** An OutputError for a failed file operation on OUT_DIR, naming OUT_DIR rather than a temporary path. */
export function outputFailure(outDir: string, doing: string, e: unknown): OutputError {
  return new OutputError(outDir, `cannot ${doing} (${errnoProblem(e)})`);
}

/** The real path of `p`, which may not exist yet: its nearest existing ancestor resolved, the rest appended. */
export async function realPathOf(p: string): Promise<string> {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(await fsp.realpath(cur), ...rest.reverse());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const parent = path.dirname(cur);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === cur) throw e;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

const inside = (child: string, parent: string) => child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);

/** Refuses an OUT_DIR that is, contains, or lies inside the input model directory. */
export async function checkOutputNotInput(inDir: string, outDir: string): Promise<void> {
  const realIn = await fsp.realpath(inDir);
  const realOut = await realPathOf(outDir);
  if (inside(realIn, realOut)) {
    throw new OutputError(outDir, 'output directory is the input model (or contains it); choose another OUT_DIR');
  }
  if (inside(realOut, realIn)) {
    throw new OutputError(outDir, 'output directory is inside the input model directory; choose another OUT_DIR');
  }
}

/**
 * Whether `outDir` exists, after checking that it may be replaced: absent, or (with `force`) a real
 * directory that is empty or holds only a graph model's files.
 */
export async function checkReplaceable(outDir: string, force: boolean): Promise<boolean> {
  let st;
  try {
    st = await fsp.lstat(outDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw outputFailure(outDir, 'inspect it', e);
  }
  if (!force) throw new OutputError(outDir, 'already exists; pass --force to replace it');
  if (st.isSymbolicLink()) throw new OutputError(outDir, `is a symlink; ${REPLACE_RULE}`);
  if (!st.isDirectory()) {
    const what = st.isFile() ? 'a file' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a directory';
    throw new OutputError(outDir, `is ${what}; ${REPLACE_RULE}`);
  }
  const entries = await fsp.readdir(outDir, { withFileTypes: true }).catch((e) => {
    throw outputFailure(outDir, 'list it', e);
  });
  if (entries.length === 0) return true;
  if (!entries.some((e) => e.name === 'model.json' && e.isFile())) {
    throw new OutputError(outDir, `holds no model.json; ${REPLACE_RULE}`);
  }
  const odd = entries.find((e) => !e.isFile() || !(e.name === 'model.json' || e.name.endsWith('.bin') || SIDE_FILES.has(e.name)));
  if (odd) throw new OutputError(outDir, `holds '${odd.name}', which is not part of a tfjs graph model; ${REPLACE_RULE}`);
  return true;
}

/**
 * Moves the finished temporary directory `tmp` to `target`. A new target is claimed with an
 * exclusive mkdir (rename then replaces the empty directory atomically); an existing one is
 * re-checked, moved aside, replaced, and only then removed.
 */
export async function moveIntoPlace(tmp: string, target: string, force: boolean): Promise<void> {
  const exists = await checkReplaceable(target, force);
  if (!exists) {
    try {
      await fsp.mkdir(target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new OutputError(target, 'was created by someone else while converting; pass --force to replace it');
      }
      throw outputFailure(target, 'create it', e);
    }
    try {
      await fsp.rename(tmp, target);
    } catch (e) {
      await fsp.rmdir(target).catch(() => undefined);
      throw outputFailure(target, 'move the new model into place', e);
    }
    return;
  }
  const old = `${target}.old-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await fsp.rename(target, old);
  } catch (e) {
    throw outputFailure(target, 'move the old model aside', e);
  }
  try {
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rename(old, target).catch(() => undefined);
    throw outputFailure(target, 'move the new model into place', e);
  }
  await fsp.rm(old, { recursive: true, force: true });
}
