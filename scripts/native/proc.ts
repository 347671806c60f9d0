// Child processes for setup:native. Asynchronous on purpose: the loopback server that feeds
// tfjs-node's installer runs in this process's event loop, so a blocking spawnSync would starve it.

import { spawn, spawnSync, SpawnOptions } from 'child_process';

/** A user-facing failure: setup-native prints its message as one line and exits 1. */
export class SetupError extends Error {}

/** Runs a command with inherited output (the tool's own progress shows); rejects with `what` on failure. */
export function run(cmd: string, args: string[], what: string, options: SpawnOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
    child.on('error', (e) => reject(new SetupError(`${what}: cannot start ${cmd} (${e.message})`)));
    child.on('close', (code, signal) =>
      code === 0 ? resolve() : reject(new SetupError(`${what}: ${cmd} exited with ${signal ?? code} (its output is above)`)),
    );
  });
}

/** stdout of a short command, or null when it cannot run or fails (used for probing tools). */
export function probe(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
}

/** The same, for long outputs (nm of a 500 MB library): asynchronous, large buffer. */
export function capture(cmd: string, args: string[], what: string, options: SpawnOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.on('error', (e) => reject(new SetupError(`${what}: cannot start ${cmd} (${e.message})`)));
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new SetupError(`${what}: ${firstError(err)}`)),
    );
  });
}

/** The line of a child's stderr that says what went wrong: the first `...Error: ...` line, else the last line. */
function firstError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^\w*Error:/.test(l)) ?? lines.pop() ?? 'failed with no output';
}
