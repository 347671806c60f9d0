// What a benchmark ran on and which code it measured, for the results files and generated docs.

import { spawnSync } from 'child_process';
import * as os from 'os';
import { packageRoot } from '../../src/paths';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memGiB: number;
  platform: string;
  release: string;
  arch: string;
  node: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown CPU',
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    node: process.version,
  };
}

/** One line naming the machine a benchmark ran on, for the generated docs sections. */
export function machineLine(): string {
  const m = machineInfo();
  return `${m.cpu}, ${m.cores} cores (shared), ${m.platform} ${m.arch}, Node ${m.node}`;
}

/** The code that was measured: commit, and whether src/, converters/ or scripts/ had uncommitted changes. */
export function gitState(): string {
  const git = (args: string[]) => spawnSync('git', args, { cwd: packageRoot(), encoding: 'utf8' });
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head.status !== 0) return 'not a git checkout';
  const dirty = git(['status', '--porcelain', '--', 'src', 'converters', 'scripts'])
    .stdout.split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3));
  // Whether dist/ matches the tree cannot be checked from here; what ran can.
  const ran = __filename.endsWith('.ts') ? 'run from the TypeScript sources' : 'run from dist/';
  return `commit ${head.stdout.trim()}${dirty.length ? `, with uncommitted changes in ${dirty.join(', ')}` : ', src/ converters/ scripts/ clean'} (at the start of the run; ${ran})`;
}
