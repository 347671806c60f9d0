// The seeded fuzz run of convert-with-turbo (scripts/fuzz-convert.ts): every case must end either
// converted (exit 0, complete output) or refused (non-zero, one line, no stack trace, no output,
// nothing left behind), with the input untouched and no hang. `npm run fuzz` prints the tally.

import { CASE_KINDS, runFuzz } from '../../scripts/fuzz-convert';

const SEED = 1;
const CASES = 420;

test(`${CASES} fuzzed conversions (seed ${SEED}) end properly`, async () => {
  const results = await runFuzz(SEED, CASES);
  const bad = results.filter((r) => r.violations.length).map((r) => `case ${r.c.id} (${r.c.kind}: ${r.c.what}) -> ${r.outcome}: ${r.violations.join('; ')} [${r.stderr}]`);
  expect(bad).toEqual([]);
  expect(results).toHaveLength(CASES);
  // The harness is not vacuous: every kind ran, and both outcomes occurred.
  for (const kind of CASE_KINDS) expect(results.some((r) => r.c.kind === kind)).toBe(true);
  expect(results.some((r) => r.outcome === 'converted')).toBe(true);
  expect(results.filter((r) => r.outcome !== 'converted').length).toBeGreaterThan(CASES / 2);
}, 300000);
