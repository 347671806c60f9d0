// Running fuzz cases through the real CLI entry (in process, with a hang timeout) and judging how
// each ended; the tally table.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/convert-with-turbo';
import { runProgram } from '../../src/cli/run';
import { TurboInputError } from '../../src/errors';
import { CASE_KINDS, FuzzCase, fuzzCases } from './cases';
import { judge, snapshot } from './judge';
import { MODEL_FILES } from './mutations';

export const HANG_MS = 20000;

export type Outcome = 'converted' | 'input' | 'manifest' | 'graph' | 'options' | 'output' | 'internal' | 'usage' | 'hang';

export interface CaseResult {
  c: FuzzCase;
  outcome: Outcome;
  code: number;
  stderr: string;
  /** Problems with how the case ended; empty when it ended properly. */
  violations: string[];
}

/** Runs one case in a fresh work directory and checks how it ended. */
export async function runCase(c: FuzzCase, root: string): Promise<CaseResult> {
  const work = fs.mkdtempSync(path.join(root, `case${c.id}-`));
  try {
    const inDir = path.join(work, 'in');
    fs.mkdirSync(inDir);
    for (const f of MODEL_FILES) fs.copyFileSync(path.join(c.fixture, f), path.join(inDir, f));
    let outDir = path.join(work, 'out');
    const prep = c.prepare(inDir, outDir, work);
    outDir = prep.outDir ?? outDir;
    const before = snapshot(work, [inDir], outDir);

    let stderr = '';
    let error: unknown;
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), HANG_MS)));
    const run = runProgram(buildProgram(), [inDir, outDir, ...prep.args], { err: (s) => (stderr += s), onError: (e) => (error = e) });
    const code = await Promise.race([run, hang]).finally(() => clearTimeout(timer));
    if (code === 'hang') return { c, outcome: 'hang', code: -1, stderr, violations: [`no result after ${HANG_MS} ms`] };

    const outcome: Outcome =
      code === 0 ? 'converted' : error instanceof TurboInputError ? error.kind : error instanceof CommanderError ? 'usage' : 'internal';
    const violations = judge(before, {
      code,
      outcome,
      stderr,
      successProblems: () => (!prep.args.includes('--dry-run') && !fs.existsSync(path.join(outDir, 'model.json')) ? ['exit 0 without an output model.json'] : []),
    });
    return { c, outcome, code, stderr: stderr.trim(), violations };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export async function runFuzz(seed: number, count: number, onCase?: (r: CaseResult) => void): Promise<CaseResult[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-fuzz-'));
  const log = console.log;
  console.log = () => undefined; // the CLI's success report
  try {
    const results: CaseResult[] = [];
    for (const c of fuzzCases(seed, count)) {
      const res = await runCase(c, root);
      results.push(res);
      onCase?.(res);
    }
    return results;
  } finally {
    console.log = log;
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** What the tally needs of a result, whichever surface it came from. */
export interface Tallied {
  c: { kind: string };
  outcome: string;
  violations: string[];
}

/** Cases by kind (rows) and outcome (columns), as a Markdown table. */
export function tallyTable(results: Tallied[], kinds: readonly string[] = CASE_KINDS): string {
  const outcomes = [...new Set(results.map((r) => r.outcome))].sort();
  const rows = kinds.map((k) => {
    const mine = results.filter((r) => r.c.kind === k);
    return `| ${k} | ${mine.length} | ${outcomes.map((o) => mine.filter((r) => r.outcome === o).length).join(' | ')} | ${mine.filter((r) => r.violations.length).length} |`;
  });
  const total = `| **all** | ${results.length} | ${outcomes.map((o) => results.filter((r) => r.outcome === o).length).join(' | ')} | ${results.filter((r) => r.violations.length).length} |`;
  return [`| case kind | cases | ${outcomes.join(' | ')} | violations |`, `| --- | --- | ${outcomes.map(() => '---').join(' | ')} | --- |`, ...rows, total].join('\n');
}

/** The rules a violation breaks, by the start of its message (judge.ts, surface_run.ts). */
const RULES: [string, RegExp][] = [
  ['hangs', /^no result after/],
  ['memory blow-ups', /^memory passed/],
  ['crashes', /^the process died/],
  ['stack traces', /^a stack trace/],
  ['internal errors', /^an internal error/],
  ['messages not one line naming a file', /^stderr is not one line|^the error does not name/],
  ['reads outside the input', /^contents of a file outside the input/],
  ['partial or broken outputs, leftovers', /^OUT_DIR|^left |^exit 0 without|^converted, but|written without|is not a regular file|holds null/],
  ['inputs modified', /^the input .* changed/],
];

/** One line: how many cases broke each rule (a case may break several). */
export function ruleTally(results: Tallied[]): string {
  const counts = RULES.map(([name, re]) => `${results.filter((r) => r.violations.some((v) => re.test(v))).length} ${name}`);
  return `By rule: ${counts.join(', ')}.`;
}
