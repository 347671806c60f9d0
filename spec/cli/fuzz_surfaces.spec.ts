// A seeded sample of each fuzz surface after the graph one (scripts/fuzz/surfaces/; `npm run fuzz
// -- --surface NAME` runs more): BLIP directories, calibration folders, SavedModels and the op
// library. Each case runs in a node child with hang and memory limits and must end converted (or
// loaded, or ran) with a complete output, or refused in one line naming a file, with no stack
// trace, no internal error, no output, nothing left behind, the input unchanged and the secret
// canary planted outside the input in no message or file. One case per kind, so every kind of
// damage is tried on every run while CI time stays small. The SavedModel and op library surfaces
// need tfjs-node and build/native: NOT TESTED without them, failing where TFJS_TURBO_REQUIRE says native.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Surface, SurfaceCase, runSurface, runSurfaceCase } from '../../scripts/fuzz/surface_run';
import { SURFACES } from '../../scripts/fuzz/surfaces';
import { CANARY_FILE } from '../../scripts/fuzz/mutations';
import { notTested } from '../helpers/required';

const SEED = 1;

function sample(surface: Surface): void {
  const cases = surface.kinds.length;
  test(`${surface.name}: ${cases} fuzz cases (seed ${SEED}, one per kind) end properly`, async () => {
    const results = await runSurface(surface, SEED, cases);
    const bad = results.filter((r) => r.violations.length).map((r) => `case ${r.c.id} (${r.c.kind}: ${r.c.what}) -> ${r.outcome}: ${r.violations.join('; ')} [${r.stderr.split('\n').slice(-1)[0]}]`);
    expect(bad).toEqual([]);
    expect(results.map((r) => r.c.kind)).toEqual([...surface.kinds]);
  }, 180000);
}

for (const name of ['blip', 'calibration']) sample(SURFACES[name]);

for (const name of ['savedmodel', 'oplib']) {
  const surface = SURFACES[name];
  const missing = surface.missing();
  if (missing === null) sample(surface);
  else notTested('native', `${name} fuzz sample`, missing);
}

test('the harness sees the canary: a secret copied into any file under the case is a violation', async () => {
  // Positive control for the check every case relies on: the run itself is a plain refusal
  // (no saved_model.pb), and the only problem is the secret copied beside the input.
  const control: SurfaceCase = {
    id: 0,
    kind: 'control',
    what: 'canary copied into the input',
    prepare: (work) => {
      const dir = path.join(work, 'in');
      fs.mkdirSync(dir);
      fs.copyFileSync(path.join(work, CANARY_FILE), path.join(dir, 'copied.txt'));
      return { argv: ['load-savedmodel', dir], inputs: [dir], success: 'loaded' };
    },
  };
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-fuzz-control-'));
  try {
    const r = await runSurfaceCase(control, root);
    expect(r.outcome).toBe('input');
    expect(r.violations).toEqual(['contents of a file outside the input (the canary) in: in/copied.txt']);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}, 60000);
