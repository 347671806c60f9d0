// Reading the files a model.json points at without trusting it: a shard path is a plain relative
// name that stays inside the model directory (also after following symlinks), only regular files are
// read (a FIFO or /dev/zero would block or never end), and no read goes past the bytes the manifest
// implies. A model converted on a build server must not be able to read the server's files.

import { constants } from 'fs';
import * as fsp from 'fs/promises';
import * as path from 'path';
import { ManifestError, TurboInputError } from '../errors';

/** Larger than any real model.json (ViT-L's topology is ~1 MB; BLIP's full graphs a few MB). */
export const MAX_MODEL_JSON_BYTES = 256 * 1024 * 1024;

/** Why a shard path from the manifest is not acceptable, or undefined if it is. */
export function shardPathProblem(p: unknown): string | undefined {
  if (typeof p !== 'string' || p === '') return 'is not a file name';
  if (p.includes('\0')) return 'contains a NUL character';
  if (path.isAbsolute(p) || /^[a-zA-Z]:|^[\\/]/.test(p)) return 'is an absolute path; shard paths must be relative to model.json';
  if (p.split(/[\\/]/).some((seg) => seg === '..')) return "contains '..'; shard paths must stay inside the model directory";
  return undefined;
}

/** The kind of a non-regular file, for messages. */
function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function openProblem(e: unknown, missing: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return missing;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ELOOP') return 'is a symlink loop';
  if (code === 'ENOTDIR') return 'a parent of it is not a directory';
  if (code === 'EISDIR') return 'is a directory, expected a file';
  return `cannot be read (${code ?? (e as Error).message})`;
}

export interface BoundedRead {
  data: Buffer;
  /** The file's size on disk (may exceed data.length when the read was bounded). */
  size: number;
}

/**
 * Reads at most `maxBytes` of a regular file. O_NONBLOCK makes opening a FIFO return at once, so
 * the fstat that follows can refuse it instead of the open blocking forever.
 */
export async function readRegularFile(file: string, maxBytes: number, missing = 'not found', extraFlags = 0): Promise<BoundedRead> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, constants.O_RDONLY | constants.O_NONBLOCK | extraFlags);
  } catch (e) {
    throw new TurboInputError(file, openProblem(e, missing));
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new TurboInputError(file, `is ${kindOf(st)}, expected a regular file`);
    const want = Math.min(st.size, maxBytes);
    const data = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(data, got, want - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return { data: got === want ? data : data.subarray(0, got), size: st.size };
  } catch (e) {
    if (e instanceof TurboInputError) throw e;
    throw new TurboInputError(file, openProblem(e, missing));
  } finally {
    await fh.close();
  }
}

/** model.json as text: a regular file of bounded size. */
export async function readModelJsonText(file: string): Promise<string> {
  const { data, size } = await readRegularFile(file, MAX_MODEL_JSON_BYTES + 1);
  if (size > MAX_MODEL_JSON_BYTES) {
    throw new TurboInputError(file, `is ${size} bytes, more than the ${MAX_MODEL_JSON_BYTES} a model.json can be`);
  }
  return data.toString('utf8');
}

/**
 * The real path of a directory (the model's, a calibration folder), against which the real path of
 * every file read from it is checked. Resolving it once means a directory reached through a symlink
 * still works.
 */
export async function realDirOf(dir: string): Promise<string> {
  try {
    return await fsp.realpath(dir);
  } catch (e) {
    throw new TurboInputError(dir, openProblem(e, 'not found'));
  }
}

/** Reads up to `maxBytes` of a shard listed in the manifest, after checking where it really is. */
export async function readShard(dir: string, realDir: string, shardPath: string, jsonPath: string, maxBytes: number): Promise<BoundedRead> {
  const problem = shardPathProblem(shardPath);
  if (problem) throw new ManifestError(jsonPath, `weightsManifest path ${JSON.stringify(shardPath)} ${problem}`);
  return readFileInside(dir, realDir, shardPath, maxBytes, 'weight shard not found (listed in model.json)');
}

/**
 * Reads up to `maxBytes` of `name` (a relative path someone else wrote, already checked with
 * shardPathProblem) inside `dir`, refusing it when its real path leaves `realDir`.
 */
export async function readFileInside(dir: string, realDir: string, name: string, maxBytes: number, missing = 'not found'): Promise<BoundedRead> {
  const shown = path.join(dir, name);
  let real: string;
  try {
    real = await fsp.realpath(shown);
  } catch (e) {
    throw new TurboInputError(shown, openProblem(e, missing));
  }
  if (!real.startsWith(realDir + path.sep)) {
    throw new TurboInputError(shown, 'is a symlink that leaves its directory; copy the files with their links resolved (cp -rL)');
  }
  try {
    // O_NOFOLLOW: the real path has no links left; one appearing now is a race we refuse.
    return await readRegularFile(real, maxBytes, missing, constants.O_NOFOLLOW);
  } catch (e) {
    // Name the path as the manifest gives it, not its resolved target.
    if (e instanceof TurboInputError) throw new TurboInputError(shown, e.problem);
    throw e;
  }
}
