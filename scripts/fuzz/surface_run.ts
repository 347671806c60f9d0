// Running the fuzz cases of the surfaces after the graph one (BLIP directories, calibration
// folders, SavedModels, the op library): each case in a fresh work directory holding its input and
// a secret canary outside it, run in a node child (child.ts) with a hang limit and a memory limit,
// then judged like a graph case (judge.ts) plus three checks only a child allows: nothing left in
// its TMPDIR, the canary's secret in no message and no file, and no crash.

import { spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../../src/paths';
import { TS_HOOK } from '../ts_hook';
import type { ChildResult } from './child';
import { judge, regularFiles, snapshot } from './judge';
import { CANARY_FILE } from './mutations';
import { HANG_MS } from './run';

/** A child whose resident memory passes this read without a bound (a link to /dev/zero, a huge file). */
export const MAX_RSS_BYTES = 3 * 2 ** 30;

/** stderr lines that are not the run's message: blip-turbo's backend line, TensorFlow's and protobuf's own logs. */
export const NOT_OURS = /^(backend: |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] |\[libprotobuf (INFO|WARNING|ERROR) )/;

export interface Prepared {
  /** The child's entry and its arguments (child.ts). */
  argv: string[];
  /** Every directory the run reads; hashed before and after. */
  inputs: string[];
  /** OUT_DIR of commands that write one (it must not appear or change when they fail). */
  outDir?: string;
  /** The outcome of a successful run: 'converted', 'loaded' or 'ran'. */
  success: string;
  /** The surface's checks of a successful run's output. */
  successProblems?: () => string[];
  /** The package root the child runs from, when not this one (the op library surface's copy). */
  packageRoot?: string;
}

export interface SurfaceCase {
  id: number;
  kind: string;
  /** What was done, for the failure message and the findings. */
  what: string;
  /** Builds the input in `work` (an empty directory but for the canary) and says how to run it. */
  prepare: (work: string) => Prepared;
}

export interface Surface {
  name: string;
  kinds: readonly string[];
  /** Why this surface cannot run on this machine (tfjs-node missing), or null. */
  missing(): string | null;
  /** Builds what all cases share (a SavedModel written once) in `root`, before any case. */
  setup?(root: string): Promise<void>;
  cases(seed: number, count: number, root: string): SurfaceCase[];
}

export interface SurfaceResult {
  c: SurfaceCase;
  outcome: string;
  code: number;
  stderr: string;
  violations: string[];
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  hung: boolean;
  /** Peak resident memory passed MAX_RSS_BYTES and the child was killed. */
  tooBig: boolean;
  result?: ChildResult;
}

/** node (with the TS hook when running uncompiled) requiring child.ts from `root`. */
function childArgv(root: string, args: string[]): string[] {
  const compiled = __filename.endsWith('.js');
  const child = path.join(root, path.relative(packageRoot(), path.join(__dirname, compiled ? 'child.js' : 'child.ts')));
  // A copied package root links to this one's sources: keep the links' paths, so the code run
  // there finds that root (src/paths.ts walks up from __dirname) and its build/native.
  const links = root === packageRoot() ? [] : ['--preserve-symlinks'];
  return [...links, '-e', `${compiled ? '' : TS_HOOK}require(${JSON.stringify(child)}).main(process.argv.slice(1))`, '--', ...args];
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs child.ts with `args` in `work`; TMPDIR is work/tmp, the result goes to work/.result.json. */
export function runChild(work: string, args: string[], root = packageRoot(), hangMs = HANG_MS): Promise<ChildRun> {
  const resultFile = path.join(work, '.result.json');
  const tmp = path.join(work, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  // NODE_PATH: the child runs in `work`, and the TS hook's require('@swc/core') must still resolve.
  const env: NodeJS.ProcessEnv = { ...process.env, FUZZ_RESULT: resultFile, TMPDIR: tmp, TF_CPP_MIN_LOG_LEVEL: '2', NODE_PATH: path.join(root, 'node_modules') };
  delete env.TURBO_DEBUG; // it adds stack traces on purpose
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, childArgv(root, args), { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    let tooBig = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => ((hung = true), child.kill('SIGKILL')), hangMs);
    const watch = setInterval(() => {
      if (child.pid && rssBytes(child.pid) > MAX_RSS_BYTES) (tooBig = true), child.kill('SIGKILL');
    }, 100);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(watch);
      const result = fs.existsSync(resultFile) ? (JSON.parse(fs.readFileSync(resultFile, 'utf8')) as ChildResult) : undefined;
      fs.rmSync(resultFile, { force: true });
      resolve({ code, signal, stdout, stderr, hung, tooBig, result });
    });
  });
}

/** Where the canary's secret shows: in the run's messages or in a file it could have written. */
function canaryLeaks(work: string, secret: string, run: ChildRun): string[] {
  // The first half is enough: an error quoting a file's first bytes cuts them short.
  const needle = secret.slice(0, secret.length / 2);
  const where: string[] = [];
  if (run.stdout.includes(needle)) where.push('stdout');
  if (run.stderr.includes(needle)) where.push('stderr');
  for (const f of regularFiles(work)) {
    if (path.basename(f) !== CANARY_FILE && fs.readFileSync(f).includes(needle)) where.push(path.relative(work, f));
  }
  return where;
}

/** The canary: one of three forms, so JSON, CSV and plain-text readers all see something they parse. */
function canaryText(id: number, secret: string): string {
  return [
    `${secret}:x:0:0:root:/root:/bin/bash\n`,
    `{"canary":"${secret}","file":"${secret}.jpg","label":1,"image":{"size":64}}\n`,
    `file,label\n${secret}.jpg,1\n${secret}-2.jpg,2\n`,
  ][id % 3];
}

export async function runSurfaceCase(c: SurfaceCase, root: string): Promise<SurfaceResult> {
  const work = fs.mkdtempSync(path.join(root, `case${c.id}-`));
  try {
    const secret = crypto.randomBytes(12).toString('hex');
    fs.writeFileSync(path.join(work, CANARY_FILE), canaryText(c.id, secret));
    const prep = c.prepare(work);
    const outDir = prep.outDir ?? path.join(work, 'out');
    fs.mkdirSync(path.join(work, 'tmp'));
    const before = snapshot(work, prep.inputs, outDir);
    const run = await runChild(work, prep.argv, prep.packageRoot);
    const done = (outcome: string, violations: string[]): SurfaceResult => ({ c, outcome, code: run.code ?? -1, stderr: run.stderr.trim(), violations });
    if (run.hung) return done('hang', [`no result after ${HANG_MS} ms`]);
    if (run.tooBig) return done('memory', [`memory passed ${MAX_RSS_BYTES / 2 ** 30} GiB (a read without a bound)`]);
    if (!run.result) return done('crash', [`the process died (${run.signal ?? `exit ${run.code}`}) without a result: ${run.stderr.trim().split('\n').slice(-1)[0] ?? ''}`]);
    const code = run.result.code;
    const outcome = code === 0 ? prep.success : (run.result.kind ?? 'internal');
    const violations = judge(before, {
      code,
      outcome,
      stderr: run.stderr,
      // Not part of the error: blip-turbo says which backend it runs on before loading anything, and
      // TensorFlow and its protobuf log from C++ whatever TF_CPP_MIN_LOG_LEVEL says (ERROR level).
      infoLines: NOT_OURS,
      harnessEntries: ['.result.json'],
      successProblems: () => [...(run.result?.followUp ? [`converted, but the output does not load: ${run.result.followUp}`] : []), ...(prep.successProblems?.() ?? [])],
    });
    if (code !== 0 && run.result.file && !run.stderr.includes(run.result.file)) violations.push(`the error does not name its file (${run.result.file})`);
    if (code === 0) {
      // judge() checks leftovers of failed runs; a successful one may add OUT_DIR and nothing else (no stray temp copies).
      const extra = fs.readdirSync(work).filter((f) => !before.workEntries.has(f) && f !== path.basename(outDir) && f !== '.result.json');
      if (extra.length) violations.push(`left behind: ${extra.join(', ')}`);
    }
    const tmpLeft = fs.readdirSync(path.join(work, 'tmp'));
    if (tmpLeft.length) violations.push(`left in TMPDIR: ${tmpLeft.join(', ')}`);
    const leaks = canaryLeaks(work, secret, run);
    if (leaks.length) violations.push(`contents of a file outside the input (the canary) in: ${leaks.join(', ')}`);
    return done(outcome, violations);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export async function runSurface(surface: Surface, seed: number, count: number, onCase?: (r: SurfaceResult) => void): Promise<SurfaceResult[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `turbo-fuzz-${surface.name}-`));
  try {
    await surface.setup?.(root);
    const results: SurfaceResult[] = [];
    for (const c of surface.cases(seed, count, root)) {
      const res = await runSurfaceCase(c, root);
      results.push(res);
      onCase?.(res);
    }
    return results;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
