// Where setup:native keeps what it downloads and builds, so a second run downloads nothing.
// TFJS_TURBO_CACHE overrides; otherwise $XDG_CACHE_HOME/tfjs-turbo or ~/.cache/tfjs-turbo. It lives
// outside the repository on purpose: `npm ci` and `git clean` leave it alone.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export function cacheDir(): string {
  const dir =
    process.env.TFJS_TURBO_CACHE ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'tfjs-turbo');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `file` through `make(tmp)` into a temporary name, then renames: an interrupted run leaves no half file. */
export async function atomically(file: string, make: (tmp: string) => Promise<void>): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.partial-${process.pid}`;
  try {
    await make(tmp);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function sizeMB(file: string): number {
  return fs.statSync(file).size / 1e6;
}
