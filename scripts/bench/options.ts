// bench's command-line options: checking them, choosing backends, and planning what runs where.

import * as fs from 'fs';
import * as path from 'path';
import { TurboInputError } from '../../src/errors';
import { packageRoot } from '../../src/paths';
import { BackendName, NODE_BACKENDS, tryLoadNativeBackend } from '../../src/runtime/backend';
import { MODELS } from './models';
import { Variant } from './results';

export const DEFAULT_JSON = path.join(packageRoot(), 'docs', 'bench', 'results.json');
export const DEFAULT_MD = path.join(packageRoot(), 'docs', 'BENCHMARKS.md');

export interface Opts {
  models: string;
  backends: string;
  batches: string;
  alphas: string;
  rSweep?: string;
  rounds: number;
  cpuRounds: number;
  peer: boolean;
  peerR: number;
  profile: string;
  profileRuns: number;
  shared: string;
  python: string;
  onnxCache: string;
  json: string;
  md: string;
  fromJson?: string;
}

/** The options, checked and parsed. */
export interface Settings {
  modelKeys: string[];
  batches: number[];
  alphas: number[];
  sweepOf: (key: string) => number[];
  /** MODEL:BATCH pairs profiled on wasm. */
  profileSet: Set<string>;
}

function parseList(flag: string, s: string, check: (v: number) => boolean, what: string): number[] {
  const xs = s.split(',').map((t) => Number(t.trim()));
  const bad = xs.find((v) => !check(v));
  if (bad !== undefined || xs.length === 0) throw new Error(`${flag}: '${s}' must be a comma-separated list of ${what}`);
  return xs;
}

export function parseSettings(opts: Opts): Settings {
  const modelKeys = opts.models.split(',').map((s) => s.trim());
  for (const k of modelKeys) if (!MODELS[k]) throw new Error(`--models: unknown model '${k}' (known: ${Object.keys(MODELS).join(', ')})`);
  const batches = parseList('--batches', opts.batches, (v) => Number.isInteger(v) && v > 0, 'positive integers');
  const alphas = parseList('--alphas', opts.alphas, (v) => Number.isFinite(v) && v >= 0, 'numbers >= 0');
  const sweepOverride = opts.rSweep ? parseList('--r-sweep', opts.rSweep, (v) => Number.isInteger(v) && v >= 0, 'integers >= 0') : undefined;
  for (const [flag, v, min] of [['--rounds', opts.rounds, 1], ['--cpu-rounds', opts.cpuRounds, 1], ['--profile-runs', opts.profileRuns, 1], ['--peer-r', opts.peerR, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${flag}: '${v}' must be an integer >= ${min}`);
  }
  const profileSet = new Set(opts.profile === 'none' ? [] : opts.profile.split(',').map((s) => s.trim()));
  for (const p of profileSet) if (!/^[a-z-]+:\d+$/.test(p) || !MODELS[p.split(':')[0]]) throw new Error(`--profile: '${p}' is not MODEL:BATCH (e.g. vit-b:1) or none`);
  return { modelKeys, batches, alphas, sweepOf: (key) => sweepOverride ?? MODELS[key].rSweep, profileSet };
}

/** The folder a results or markdown file goes into must exist (the default results folder is created). */
export function requireFolder(file: string, create: boolean): void {
  const dir = path.dirname(path.resolve(file));
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new TurboInputError(dir, 'not a folder');
    return;
  }
  if (create && fs.existsSync(path.dirname(dir))) {
    fs.mkdirSync(dir);
    return;
  }
  throw new TurboInputError(dir, 'folder not found');
}

export function chooseBackends(spec: string, log: (s: string) => void): { use: BackendName[]; status: Record<string, string> } {
  const native = tryLoadNativeBackend();
  const status: Record<string, string> = {
    wasm: 'tfjs-backend-wasm 4.22.0',
    cpu: 'tfjs-backend-cpu 4.22.0',
    tensorflow: native ? 'tfjs-node installed' : 'not installed (@tensorflow/tfjs-node / -gpu absent): not measured',
  };
  if (spec === 'auto') {
    if (!native) log('tfjs-node (backend tensorflow): not installed, skipped');
    return { use: native ? ['wasm', 'cpu', 'tensorflow'] : ['wasm', 'cpu'], status };
  }
  const use = spec.split(',').map((s) => s.trim()) as BackendName[];
  for (const b of use) {
    if (!NODE_BACKENDS.includes(b)) throw new Error(`--backends: unknown backend '${b}' (known: ${NODE_BACKENDS.join(', ')}, or auto)`);
    if (b === 'tensorflow' && !native) throw new Error("--backends: 'tensorflow' needs @tensorflow/tfjs-node (or -gpu), which is not installed");
  }
  return { use, status };
}

/** The r sweep as groups of variants timed together: by alpha; r = 0 (alpha-independent) joins the first group. */
export function variantsFor(sweep: number[], alphas: number[]): Variant[][] {
  const groups = alphas.map((alpha) => sweep.filter((r) => r > 0).map((r) => ({ r, alpha }) as Variant));
  if (sweep.includes(0)) groups[0].unshift({ r: 0, alpha: null });
  return groups.filter((g) => g.length);
}

/** Splits `xs` into the fewest parts of at most `max`, as even as possible. */
export function chunk<T>(xs: T[], max: number): T[][] {
  const parts = Math.ceil(xs.length / max);
  const size = Math.ceil(xs.length / parts);
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** One (model, backend, batch) measurement. */
export interface Job {
  key: string;
  backend: BackendName;
  batch: number;
  rounds: number;
}

/** What runs where (cpu: ViT-Tiny at batch 1 only, it is slow), and how many runs that is, to size the progress bar. */
export function planJobs(s: Settings, backends: BackendName[], opts: Opts, withPeer: boolean): { jobs: Job[]; totalRuns: number } {
  const jobs: Job[] = [];
  for (const key of s.modelKeys) {
    for (const backend of backends) {
      if (backend === 'cpu' && key !== 'vit-tiny') continue;
      const bs = backend === 'cpu' ? [1] : s.batches;
      for (const batch of bs) jobs.push({ key, backend, batch, rounds: backend === 'cpu' ? opts.cpuRounds : opts.rounds });
    }
  }
  let totalRuns = 0;
  for (const j of jobs) {
    const groups = variantsFor(s.sweepOf(j.key), s.alphas);
    const nVariants = groups.reduce((n, g) => n + g.length, 0);
    const nGroups = j.key === 'vit-b' ? groups.reduce((n, g) => n + Math.ceil(g.length / 4), 0) : groups.length;
    totalRuns += (j.rounds + 1) * (nVariants + nGroups);
    if (j.backend === 'wasm' && withPeer) totalRuns += (j.rounds + 1) * 4;
  }
  return { jobs, totalRuns };
}
