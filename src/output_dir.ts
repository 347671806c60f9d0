// Where a converted model may be written. Paths are compared as the filesystem sees them
// (fs.realpath, parents included), so a symlink cannot make the output land in the input;
// --force replaces only a directory that holds a tfjs graph model, never a file, device, FIFO or
// symlink; and without --force the output directory is claimed exclusively (mkdir), so two
// conversions racing for one OUT_DIR cannot both succeed.

import type { Dirent } from 'fs';
import * as fsp from 'fs/promises';
import * as path from 'path';
import { OutputError, TurboInputError } from './errors';

/**
 * A kind of model directory that --force may replace: `what` names it for messages, `problem`
 * says why a directory is not one (undefined: it is).
 */
export interface ModelDirKind {
  what: string;
  problem(dir: string, entries: Dirent[]): Promise<string | undefined>;
}

/** Files a graph model directory may hold beside model.json and its *.bin shards. */
const SIDE_FILES = new Set(['preprocessing.json', 'imagenet-classes.txt', 'labels.txt', 'tokenizer.json', 'turbo-tune.json', 'README.md']);

export const GRAPH_MODEL_DIR: ModelDirKind = {
  what: 'a tfjs graph model',
  problem: async (_dir, entries) => {
    if (!entries.some((e) => e.name === 'model.json' && e.isFile())) return 'holds no model.json';
    const odd = entries.find((e) => !e.isFile() || !(e.name === 'model.json' || e.name.endsWith('.bin') || SIDE_FILES.has(e.name)));
    return odd ? `holds '${odd.name}', which is not part of a tfjs graph model` : undefined;
  },
};

const replaceRule = (kinds: readonly ModelDirKind[]) => `--force replaces only a directory holding ${kinds.map((k) => k.what).join(' or ')}`;

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
 * directory that is empty or holds one of `kinds` of model.
 */
export async function checkReplaceable(outDir: string, force: boolean, kinds: readonly ModelDirKind[] = [GRAPH_MODEL_DIR]): Promise<boolean> {
  let st;
  try {
    st = await fsp.lstat(outDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw outputFailure(outDir, 'inspect it', e);
  }
  if (!force) throw new OutputError(outDir, 'already exists; pass --force to replace it');
  const rule = replaceRule(kinds);
  if (st.isSymbolicLink()) throw new OutputError(outDir, `is a symlink; ${rule}`);
  if (!st.isDirectory()) {
    const what = st.isFile() ? 'a file' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a directory';
    throw new OutputError(outDir, `is ${what}; ${rule}`);
  }
  const entries = await fsp.readdir(outDir, { withFileTypes: true }).catch((e) => {
    throw outputFailure(outDir, 'list it', e);
  });
  if (entries.length === 0) return true;
  let first: string | undefined;
  for (const kind of kinds) {
    const problem = await kind.problem(outDir, entries);
    if (problem === undefined) return true;
    first ??= problem;
  }
  throw new OutputError(outDir, `${first}; ${rule}`);
}

/**
 * Moves the finished temporary directory `tmp` to `target`. A new target is claimed with an
 * exclusive mkdir (rename then replaces the empty directory atomically); an existing one is
 * re-checked, moved aside, replaced, and only then removed.
 */
export async function moveIntoPlace(tmp: string, target: string, force: boolean, kinds: readonly ModelDirKind[] = [GRAPH_MODEL_DIR]): Promise<void> {
  const exists = await checkReplaceable(target, force, kinds);
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

/**
 * Writes a model directory atomically: `fill` writes into a temporary sibling directory, which is
 * then moved into place (moveIntoPlace), so `dir` is absent, the old model, or complete; the
 * temporary directory never outlives a failure. Output errors name `dir` as the caller gave it.
 */
export async function writeDirAtomically(dir: string, force: boolean, fill: (tmp: string) => Promise<void>, kinds: readonly ModelDirKind[] = [GRAPH_MODEL_DIR]): Promise<void> {
  const target = path.resolve(dir);
  await checkReplaceable(dir, force, kinds);
  await fsp.mkdir(path.dirname(target), { recursive: true }).catch((e) => {
    throw outputFailure(dir, 'create its parent directory', e);
  });
  await removeStaleTemps(target);
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await fsp.mkdir(tmp).catch((e) => {
    throw outputFailure(dir, 'create a directory beside it', e);
  });
  try {
    await fill(tmp);
    await moveIntoPlace(tmp, target, force, kinds);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    if (e instanceof TurboInputError) throw new OutputError(dir, e.problem);
    throw e;
  }
}

/** What writeDirAtomically appends to OUT_DIR's name for its temporary directory: `.tmp-<pid>-<random>`. */
const TEMP_SUFFIX = /^\.tmp-([1-9]\d{0,9})-[0-9a-z]{1,6}$/;

/**
 * Removes the temporary directories of `target` that earlier runs, killed mid-write (kill -9, power
 * loss), left behind: only real directories (a symlink is neither followed nor removed), only
 * names writeDirAtomically makes for this very target, and only when the pid in the name is gone;
 * a live pid may be a conversion writing now. Best effort: what cannot be removed stays.
 */
export async function removeStaleTemps(target: string): Promise<void> {
  const parent = path.dirname(target);
  const base = path.basename(target);
  const names = await fsp.readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    const m = name.startsWith(base) ? TEMP_SUFFIX.exec(name.slice(base.length)) : null;
    if (!m || !processGone(Number(m[1]))) continue;
    const p = path.join(parent, name);
    const st = await fsp.lstat(p).catch(() => undefined);
    if (st?.isDirectory()) await fsp.rm(p, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Whether no process has this pid (ESRCH); EPERM means one exists that we may not signal. */
function processGone(pid: number): boolean {
  if (pid === process.pid || pid > 0x7fffffff) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Writes one file of a model being assembled in `tmp`; errors name OUT_DIR, not the temporary path. */
export async function writeFileIn(outDir: string, file: string, data: string | Uint8Array): Promise<void> {
  try {
    await fsp.writeFile(file, data);
  } catch (e) {
    throw outputFailure(outDir, `write ${path.basename(file)}`, e);
  }
}
