// Reading the files a model.json points at without trusting it: a shard path is a plain relative
// name that stays inside the model directory (also after following symlinks), only regular files are
// read (a FIFO or /dev/zero would block or never end), and no read goes past the bytes the manifest
// implies. A model converted on a build server must not be able to read the server's files.

import * as fs from 'fs';
import { constants } from 'fs';
import * as fsp from 'fs/promises';
import * as path from 'path';
import { ManifestError, TurboInputError } from '../errors';
import { parseJsonText } from '../json_text';

export { parseJsonText };

/** Larger than any real model.json (ViT-L's topology is ~1 MB; BLIP's full graphs a few MB). */
export const MAX_MODEL_JSON_BYTES = 256 * 1024 * 1024;

/**
 * The most bytes the project reads of each kind of file a user or a model directory supplies: far
 * above any real one, low enough that a link to /dev/zero or a huge file is refused before memory
 * runs out. One table, so every reader applies the same policy.
 */
export const MAX_BYTES = {
  modelJson: MAX_MODEL_JSON_BYTES,
  /** preprocessing.json, class names (ImageNet-21k's names are ~300 kB). */
  sidecar: 16 << 20,
  /** BLIP config.json. */
  config: 16 << 20,
  /** BLIP tokenizer.json (bert-base's is ~700 kB). */
  tokenizer: 64 << 20,
  /** An encoded image (JPEG/PNG/WebP) for calibration or the pipelines. */
  image: 64 << 20,
  /** labels.csv of a calibration folder. */
  labelsCsv: 16 << 20,
  /** saved_model.pb: the graph only, weights live in variables/ (ViT-L with constants folded is ~1.2 GB); protobuf parses no message of 2 GiB or more. */
  savedModelPb: 2 ** 31 - 1,
  /** The native op library (ours is ~200 kB; a debug build a few MB). */
  opLibrary: 256 << 20,
  /** The op library's manifest.json. */
  opManifest: 1 << 20,
} as const;

export type FileKind = keyof typeof MAX_BYTES;

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
 * the fstat that follows can refuse it instead of the open blocking forever. With `whole`, a file
 * larger than that kind's bound is refused on its fstat size, before any byte is read.
 */
export async function readRegularFile(file: string, maxBytes: number, missing = 'not found', extraFlags = 0, whole?: FileKind): Promise<BoundedRead> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, constants.O_RDONLY | constants.O_NONBLOCK | extraFlags);
  } catch (e) {
    throw new TurboInputError(file, openProblem(e, missing));
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new TurboInputError(file, `is ${kindOf(st)}, expected a regular file`);
    if (whole) refuseTooBig(file, whole, st.size);
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

/**
 * A whole regular file of one kind, refused (not cut) past that kind's bound, and read no further
 * than the bound plus one byte either way.
 */
export async function readWholeFile(file: string, kind: FileKind, missing = 'not found'): Promise<Buffer> {
  return wholeOrRefused(file, kind, await readRegularFile(file, MAX_BYTES[kind] + 1, missing, 0, kind));
}

/** readWholeFile for `name` inside `dir`: refused when its real path leaves `realDir` (readFileInside). */
export async function readWholeFileInside(dir: string, realDir: string, name: string, kind: FileKind, missing = 'not found'): Promise<Buffer> {
  return wholeOrRefused(path.join(dir, name), kind, await readFileInside(dir, realDir, name, MAX_BYTES[kind] + 1, missing, kind));
}

/**
 * The data of a read bounded at one byte past the kind's limit, or the refusal when it hit that
 * byte (a file that grew after its fstat).
 */
function wholeOrRefused(file: string, kind: FileKind, { data, size }: BoundedRead): Buffer {
  refuseTooBig(file, kind, Math.max(size, data.length));
  return data;
}

function refuseTooBig(file: string, kind: FileKind, size: number): void {
  const max = MAX_BYTES[kind];
  if (size > max) throw new TurboInputError(file, `is ${size} bytes, over the ${max}-byte limit for ${KIND_NAMES[kind]}`);
}

const KIND_NAMES: Record<FileKind, string> = {
  modelJson: 'model.json',
  sidecar: 'side files',
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  image: 'images',
  labelsCsv: 'labels.csv',
  savedModelPb: 'saved_model.pb',
  opLibrary: 'the op library',
  opManifest: "the op library's manifest",
};


/** A JSON file of one kind: bounded regular-file read, then parseJsonText. */
export async function readJsonFile(file: string, kind: FileKind, missing = 'not found'): Promise<unknown> {
  return parseJsonText((await readWholeFile(file, kind, missing)).toString('utf8'), file);
}

/** model.json as text: a regular file of bounded size. */
export async function readModelJsonText(file: string): Promise<string> {
  return (await readWholeFile(file, 'modelJson')).toString('utf8');
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
export async function readFileInside(dir: string, realDir: string, name: string, maxBytes: number, missing = 'not found', whole?: FileKind): Promise<BoundedRead> {
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
    return await readRegularFile(real, maxBytes, missing, constants.O_NOFOLLOW, whole);
  } catch (e) {
    // Name the path as the manifest gives it, not its resolved target.
    if (e instanceof TurboInputError) throw new TurboInputError(shown, e.problem);
    throw e;
  }
}

/**
 * readWholeFile for a caller that cannot await: the op library is loaded while kernels register,
 * synchronously. The same policy: O_NONBLOCK so a FIFO is refused by fstat instead of blocking.
 */
export function readWholeFileSync(file: string, kind: FileKind, missing = 'not found'): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new TurboInputError(file, openProblem(e, missing));
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new TurboInputError(file, `is ${kindOf(st)}, expected a regular file`);
    refuseTooBig(file, kind, st.size);
    const data = Buffer.allocUnsafe(Math.min(st.size, MAX_BYTES[kind] + 1));
    let got = 0;
    while (got < data.length) {
      const n = fs.readSync(fd, data, got, data.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return wholeOrRefused(file, kind, { data: data.subarray(0, got), size: st.size });
  } catch (e) {
    if (e instanceof TurboInputError) throw e;
    throw new TurboInputError(file, openProblem(e, missing));
  } finally {
    fs.closeSync(fd);
  }
}
