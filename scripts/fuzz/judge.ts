// How a fuzz case must end, for every surface: converted (or loaded, or ran) with a complete
// output, or refused properly: one line, no stack trace, no internal error, OUT_DIR as it was,
// nothing left behind; the input unchanged either way, and nothing from outside the input (the
// canary) in any message or output. run.ts (graph models, in process) and surface_run.ts (the
// other surfaces, in a node child) both judge with judge().

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** A digest of a directory tree: names, modes, file contents and link targets (links not followed). */
export function hashTree(dir: string): string {
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

/** Every regular file under `dir` (links not followed: a link is not something the run wrote). */
export function regularFiles(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.lstatSync(dir).isDirectory()) return fs.existsSync(dir) && fs.lstatSync(dir).isFile() ? [dir] : [];
  return fs.readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    const st = fs.lstatSync(p);
    return st.isDirectory() ? regularFiles(p) : st.isFile() ? [p] : [];
  });
}

/** The state a case is judged against, taken after the input was prepared and before the run. */
export interface Before {
  work: string;
  inputs: { dir: string; hash: string }[];
  workEntries: Set<string>;
  outDir: string;
  out?: fs.Stats;
}

export function snapshot(work: string, inputs: string[], outDir: string): Before {
  return {
    work,
    inputs: inputs.map((dir) => ({ dir, hash: hashTree(dir) })),
    workEntries: new Set(fs.readdirSync(work)),
    outDir,
    out: fs.existsSync(outDir) ? fs.lstatSync(outDir) : undefined,
  };
}

export interface Ending {
  /** Exit code (0: converted, loaded or ran). */
  code: number;
  /** The error class, or the success outcome. */
  outcome: string;
  stderr: string;
  /** Lines a run may print before its error that are not part of it (e.g. blip-turbo's "backend: ..."). */
  infoLines?: RegExp;
  /** The surface's own checks of a successful run (its output is complete); problems, if any. */
  successProblems?: () => string[];
  /** Entries of the work directory the harness itself created during the run (a result file). */
  harnessEntries?: string[];
}

/** The violations of one case's ending; empty when it ended properly. */
export function judge(b: Before, e: Ending): string[] {
  const violations: string[] = [];
  for (const input of b.inputs) if (hashTree(input.dir) !== input.hash) violations.push(`the input ${path.basename(input.dir)} changed`);
  if (/\n\s+at /.test(e.stderr)) violations.push('a stack trace was printed');
  if (e.outcome === 'internal') violations.push('an internal error (a bug) reached the user');
  if (e.code === 0) {
    violations.push(...(e.successProblems?.() ?? []));
    return violations;
  }
  const lines = e.stderr
    .trimEnd()
    .split('\n')
    .filter((l) => !(e.infoLines && e.infoLines.test(l)));
  if (lines.length !== 1) violations.push(`stderr is not one line: ${JSON.stringify(e.stderr.slice(0, 400))}`);
  const after = fs.existsSync(b.outDir) ? fs.lstatSync(b.outDir) : undefined;
  if ((after === undefined) !== (b.out === undefined) || (after && b.out && (after.ino !== b.out.ino || after.mtimeMs !== b.out.mtimeMs))) {
    violations.push('OUT_DIR changed although the run failed');
  }
  const harness = new Set(e.harnessEntries ?? []);
  const extra = fs.readdirSync(b.work).filter((f) => !b.workEntries.has(f) && !harness.has(f));
  if (extra.length) violations.push(`left behind: ${extra.join(', ')}`);
  return violations;
}
