// The schema of bench's results file (docs/bench/results.json), written by scripts/bench.ts and
// rendered by render.ts.

import * as fs from 'fs';
import { TurboInputError } from '../../src/errors';
import { Times } from '../../src/runtime/timing';

/** One Turbo graph of the r sweep. */
export interface Variant {
  r: number;
  /** null for r = 0: nothing is merged, so alpha has no effect and the row is measured once. */
  alpha: number | null;
}

export interface Row {
  model: string;
  backend: string;
  batch: number;
  r: number;
  alpha: number | null;
  tokensAfterBlock: number[];
  flopRatio: number;
  /** Medians of the process CPU time per run (ms). */
  originalMs: number;
  turboMs: number;
  speedup: number;
  /** speed-up ÷ FLOP ratio. */
  keptOfFlopRatio: number;
  originalImagesPerSec: number;
  turboImagesPerSec: number;
  /** Wall-clock medians (the CPU-time medians above are the primary numbers). */
  originalWallMs: number;
  turboWallMs: number;
  speedupWall: number;
  samples: { original: Times; turbo: Times };
  /** Graphs timed together in this group (original + Turbo variants). */
  group: string[];
  execMode: string;
}

export interface PeerRow {
  model: string;
  batch: number;
  turbo: { r: number; alpha: number; flopRatio: number };
  /** ort1, original, turbo: CPU-time medians; ortDefault: wall-clock median. */
  ms: { ort1: number; ortDefault: number; original: number; turbo: number };
  wallMs: { ort1: number; ortDefault: number; original: number; turbo: number };
  imagesPerSec: { ort1: number; ortDefault: number; original: number; turbo: number };
  /** Turbo-tfjs (wasm) images/s ÷ onnxruntime images/s. */
  turboOverOrt1: number;
  turboOverOrtDefault: number;
  originalOverOrt1: number;
  turboOverOrt1Wall: number;
  turboOverOrtDefaultWall: number;
  /** max |ORT logits − tfjs original logits| on this batch, and max |logit| for scale. */
  ortVsTfjsMaxAbsDiff: number;
  logitScale: number;
  samples: Record<string, Times>;
}

export interface Check {
  what: string;
  maxAbsDiff: number;
  tolerance: number | null;
  ok: boolean | null;
}

export interface ProfileCategory {
  category: string;
  originalMs: number;
  turboMs: number;
  originalKernels: number;
  turboKernels: number;
}

export interface ProfileResult {
  model: string;
  backend: string;
  batch: number;
  r: number;
  alpha: number;
  flopRatio: number;
  runs: number;
  wallMs: { original: number; turbo: number };
  cpuMs: { original: number; turbo: number };
  /** Dense matmul GFLOP/s (2 x multiply-adds / CPU time) by tokens per image (rows = batch x tokens). */
  denseGflops: { tokens: number; gflops: number }[];
  /** Wall time of the profiled runs (profiling adds bookkeeping per kernel). */
  profiledWallMs: { original: number; turbo: number };
  kernelMs: { original: number; turbo: number };
  categories: ProfileCategory[];
}

/** Rows of the removed --experiments harness; only in results files written before its removal. */
export interface ExperimentRow {
  model: string;
  batch: number;
  name: string;
  nodes: number;
  cpuMs: number;
  wallMs: number;
  speedup: number;
  kept: number;
  flopRatio: number;
}

export interface ModelInfo {
  title: string;
  source: string;
  weightMiB: number;
  onnx: string | null;
  nodes: { original: number; turbo: number; turboConfig: string; changedOps: Record<string, [number, number]> };
}

export interface Result {
  date: string;
  command: string;
  code: string;
  machine: { cpu: string; cores: number; memGiB: number; os: string; loadAvgStart: number[]; loadAvgEnd: number[] };
  versions: Record<string, string | null>;
  backends: Record<string, string>;
  models: Record<string, ModelInfo>;
  settings: { rounds: number; cpuRounds: number; warmup: number; alphas: number[]; batches: number[]; peerR: number; peerAlpha: number };
  peer: { ran: boolean; skipped: string | null; threads: string };
  checks: Check[];
  rows: Row[];
  peers: PeerRow[];
  profiles: ProfileResult[];
  experiments?: ExperimentRow[];
  seconds: number;
}

/** A results file, checked to be one (--from-json). */
export function readResults(file: string): Result {
  let result: Result;
  try {
    result = JSON.parse(fs.readFileSync(file, 'utf8')) as Result;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TurboInputError(file, code === 'ENOENT' ? 'not found' : `not a results file (${(e as Error).message})`);
  }
  if (!Array.isArray(result.rows) || !result.machine) throw new TurboInputError(file, 'not a results file written by scripts/bench.ts');
  return result;
}

export const round1 = (x: number) => Math.round(x * 10) / 10;
export const round2 = (x: number) => Math.round(x * 100) / 100;
export const rounded = (t: Times): Times => ({ wall: t.wall.map(round1), cpu: t.cpu.map(round1) });

/** Weight bytes of all graphs loaded at once for one group (original + Turbo variants); the rendered method names it. */
export const MEMORY_BUDGET = 2.0e9;
