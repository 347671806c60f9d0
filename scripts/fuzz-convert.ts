// Seeded fuzzing of convert-with-turbo: mutated model.json files (structure, manifest, bytes),
// hostile shards and shard paths, option strings, and output targets, each run through the real
// CLI entry (in process, with a hang timeout). Every case must end in one of two ways: exit 0 with
// a complete output, or a non-zero exit with one line naming a file, no stack trace, no output and
// the input untouched. spec/cli/fuzz.spec.ts asserts that per case; `npm run fuzz` prints the
// tally by kind and outcome and can write it to docs/RELIABILITY.md.
//
// The cases: scripts/fuzz/ (mutations.ts, cases.ts); running and judging them: scripts/fuzz/run.ts.

import * as os from 'os';
import { replaceSection } from './markdown';
import { runFuzz, tallyTable } from './fuzz/run';

export { CASE_KINDS, FIXTURES, fuzzCases, rng } from './fuzz/cases';
export type { CaseKind, FuzzCase } from './fuzz/cases';
export { HANG_MS, runCase, runFuzz, tallyTable } from './fuzz/run';
export type { CaseResult, Outcome } from './fuzz/run';

async function main(): Promise<void> {
  const { Command } = await import('commander');
  const program = new Command('fuzz-convert')
    .option('--seed <n>', 'generator seed', (s) => Number.parseInt(s, 10), 1)
    .option('--cases <n>', 'number of cases', (s) => Number.parseInt(s, 10), 350)
    .option('--write <file>', 'replace the tally section of this Markdown file')
    .action(async (opts) => {
      const started = Date.now();
      const results = await runFuzz(opts.seed, opts.cases, (r) => {
        if (r.violations.length) process.stderr.write(`case ${r.c.id} (${r.c.kind}: ${r.c.what}): ${r.violations.join('; ')}\n`);
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      const table = tallyTable(results);
      const cmd = `npm run fuzz -- --seed ${opts.seed} --cases ${opts.cases}`;
      const section = `${table}\n\n${results.length} cases in ${seconds} s (\`${cmd}\`, ${os.cpus().length} cores, Node ${process.version}).`;
      console.log(table);
      console.log(`\n${results.length} cases in ${seconds} s; ${results.filter((r) => r.violations.length).length} with violations`);
      if (opts.write) replaceSection(opts.write, 'fuzz', section);
      if (results.some((r) => r.violations.length)) process.exitCode = 1;
    });
  await program.parseAsync();
}

if (require.main === module) void main();
