// Seeded fuzzing of everything a user or a model directory hands the project. The graph surface:
// mutated model.json files (structure, manifest, bytes), hostile shards and shard paths, option
// strings and output targets for convert-with-turbo, run through the real CLI entry in process with
// a hang timeout. The other surfaces (BLIP directories, calibration folders, SavedModels, the op
// library; scripts/fuzz/surfaces/) run each case in a node child with hang and memory limits and a
// secret canary outside the input. Every case must end in one of two ways: exit 0 with a complete
// output, or a non-zero exit with one line naming a file, no stack trace, no output and the input
// untouched. spec/cli/fuzz*.spec.ts assert that per case; `npm run fuzz` prints the tally by kind
// and outcome and can write it to docs/RELIABILITY.md.
//
// The cases: scripts/fuzz/ (mutations.ts, cases.ts, surfaces/); running and judging them:
// run.ts (graph), surface_run.ts and child.ts (the others), judge.ts (both).

import * as os from 'os';
import { replaceSection } from './markdown';
import { ruleTally, runFuzz, tallyTable, Tallied } from './fuzz/run';
import { runSurface, SurfaceResult } from './fuzz/surface_run';
import { SURFACES } from './fuzz/surfaces';
import { CASE_KINDS } from './fuzz/cases';

export { CASE_KINDS, FIXTURES, fuzzCases, rng } from './fuzz/cases';
export type { CaseKind, FuzzCase } from './fuzz/cases';
export { HANG_MS, runCase, runFuzz, tallyTable } from './fuzz/run';
export type { CaseResult, Outcome } from './fuzz/run';
export { runSurface } from './fuzz/surface_run';
export { SURFACES } from './fuzz/surfaces';

const SURFACE_NAMES = ['graph', ...Object.keys(SURFACES)];
/** Cases per surface when --cases is not given: a child per case makes the others ~10x slower per case. */
const DEFAULT_CASES: Record<string, number> = { graph: 350, blip: 70, calibration: 40, savedmodel: 40, oplib: 40 };

/** Runs one surface; prints its violations as they come and its table at the end. Returns the Markdown section. */
async function fuzzSurface(name: string, seed: number, cases: number): Promise<{ section?: string; violations: number }> {
  const started = Date.now();
  let results: Tallied[];
  let kinds: readonly string[] = CASE_KINDS;
  if (name === 'graph') {
    results = await runFuzz(seed, cases, (r) => {
      if (r.violations.length) process.stderr.write(`case ${r.c.id} (${r.c.kind}: ${r.c.what}): ${r.violations.join('; ')}\n`);
    });
  } else {
    const surface = SURFACES[name];
    const missing = surface.missing();
    if (missing) {
      console.log(`${name}: not run: ${missing}`);
      return { violations: 0 };
    }
    kinds = surface.kinds;
    results = await runSurface(surface, seed, cases, (r: SurfaceResult) => {
      if (r.violations.length) process.stderr.write(`${name} case ${r.c.id} (${r.c.kind}: ${r.c.what}) -> ${r.outcome}: ${r.violations.join('; ')} [${r.stderr.split('\n').slice(-1)[0]}]\n`);
    });
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  // The graph section keeps its committed form; the other surfaces add the count per rule.
  const table = name === 'graph' ? tallyTable(results, kinds) : `${tallyTable(results, kinds)}\n\n${ruleTally(results)}`;
  const bad = results.filter((r) => r.violations.length).length;
  const cmd = `npm run fuzz -- ${name === 'graph' ? '' : `--surface ${name} `}--seed ${seed} --cases ${cases}`;
  console.log(`\n${name}\n${table}\n\n${results.length} cases in ${seconds} s; ${bad} with violations`);
  return { section: `${table}\n\n${results.length} cases in ${seconds} s (\`${cmd}\`, ${os.cpus().length} cores, Node ${process.version}).`, violations: bad };
}

async function main(): Promise<void> {
  const { Command, Option } = await import('commander');
  const program = new Command('fuzz-convert')
    .addOption(new Option('--surface <name>', 'what to fuzz').choices([...SURFACE_NAMES, 'all']).default('graph'))
    .option('--seed <n>', 'generator seed', (s) => Number.parseInt(s, 10), 1)
    .option('--cases <n>', `cases per surface (default: ${Object.entries(DEFAULT_CASES).map(([k, v]) => `${k} ${v}`).join(', ')})`, (s) => Number.parseInt(s, 10))
    .option('--write <file>', "replace each surface's tally section of this Markdown file (fuzz, fuzz-blip, ...)")
    .action(async (opts) => {
      let violations = 0;
      for (const name of opts.surface === 'all' ? SURFACE_NAMES : [opts.surface]) {
        const r = await fuzzSurface(name, opts.seed, opts.cases ?? DEFAULT_CASES[name]);
        violations += r.violations;
        if (opts.write && r.section) replaceSection(opts.write, name === 'graph' ? 'fuzz' : `fuzz-${name}`, r.section);
      }
      if (violations) process.exitCode = 1;
    });
  await program.parseAsync();
}

if (require.main === module) void main();
