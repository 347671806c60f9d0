// Running fuzz cases through the real CLI entry (in process, with a hang timeout) and judging how
// each ended; the tally table.

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/convert-with-turbo';
import { runProgram } from '../../src/cli/run';
import { TurboInputError } from '../../src/errors';
import { CASE_KINDS, FuzzCase, fuzzCases } from './cases';
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

function hashTree(dir: string): string {
  const h = crypto.createHash('sha256');
  const walk = (d: string) => {
    for (const f of fs.readdirSync(d).sort()) {
      const p = path.join(d, f);
      const st = fs.lstatSync(p);
      h.update(`${f}:${st.mode}`);
      if (st.isFile()) h.update(fs.readFileSync(p));
      else if (st.isSymbolicLink()) h.update(fs.readlinkSync(p));
      else if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return h.digest('hex');
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
    const inputBefore = hashTree(inDir);
    const workBefore = new Set(fs.readdirSync(work));
    const outBefore = fs.existsSync(outDir) ? fs.lstatSync(outDir) : undefined;

    let stderr = '';
    let error: unknown;
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), HANG_MS)));
    const run = runProgram(buildProgram(), [inDir, outDir, ...prep.args], { err: (s) => (stderr += s), onError: (e) => (error = e) });
    const code = await Promise.race([run, hang]).finally(() => clearTimeout(timer));
    if (code === 'hang') return { c, outcome: 'hang', code: -1, stderr, violations: [`no result after ${HANG_MS} ms`] };

    const violations: string[] = [];
    const outcome: Outcome =
      code === 0 ? 'converted' : error instanceof TurboInputError ? error.kind : error instanceof CommanderError ? 'usage' : 'internal';
    if (hashTree(inDir) !== inputBefore) violations.push('the input directory changed');
    if (/\n\s+at /.test(stderr)) violations.push('a stack trace was printed');
    if (outcome === 'internal') violations.push('an internal error (a bug) reached the user');
    if (code === 0) {
      if (!prep.args.includes('--dry-run') && !fs.existsSync(path.join(outDir, 'model.json'))) violations.push('exit 0 without an output model.json');
    } else {
      if (stderr.trimEnd().split('\n').length !== 1) violations.push(`stderr is not one line: ${JSON.stringify(stderr)}`);
      const after = fs.existsSync(outDir) ? fs.lstatSync(outDir) : undefined;
      if ((after === undefined) !== (outBefore === undefined) || (after && outBefore && (after.ino !== outBefore.ino || after.mtimeMs !== outBefore.mtimeMs))) {
        violations.push('OUT_DIR changed although the conversion failed');
      }
      const extra = fs.readdirSync(work).filter((f) => !workBefore.has(f));
      if (extra.length) violations.push(`left behind: ${extra.join(', ')}`);
    }
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

/** Cases by kind (rows) and outcome (columns), as a Markdown table. */
export function tallyTable(results: CaseResult[]): string {
  const outcomes = [...new Set(results.map((r) => r.outcome))].sort();
  const rows = CASE_KINDS.map((k) => {
    const mine = results.filter((r) => r.c.kind === k);
    return `| ${k} | ${mine.length} | ${outcomes.map((o) => mine.filter((r) => r.outcome === o).length).join(' | ')} | ${mine.filter((r) => r.violations.length).length} |`;
  });
  const total = `| **all** | ${results.length} | ${outcomes.map((o) => results.filter((r) => r.outcome === o).length).join(' | ')} | ${results.filter((r) => r.violations.length).length} |`;
  return [`| case kind | cases | ${outcomes.join(' | ')} | violations |`, `| --- | --- | ${outcomes.map(() => '---').join(' | ')} | --- |`, ...rows, total].join('\n');
}
