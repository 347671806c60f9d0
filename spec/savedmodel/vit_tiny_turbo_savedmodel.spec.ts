// The rewritten ViT-Tiny written as TensorFlow SavedModels with the native Turbo ops inside, run by
// TensorFlow (loadTurboSavedModel loads the op library) against the official Turbo outputs: all 9
// configurations within today's tolerances (tokens after every block exact, read from the
// turbo_blocks signature; logits within 2e-3; same top-1). Needs tfjs-node and the op library:
// without them one test names what is missing and nothing else is registered.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir } from '../../src/convert';
import { runInNode } from '../helpers/node_child';
import { argmaxRows, loadVitTinyParity, maxAbsDiff, toOptions } from '../helpers/parity';
import { SavedModelRunJson } from '../helpers/savedmodel_child';
import { describeNative } from '../native/helpers';

const CHILD = path.join(__dirname, '..', 'helpers', 'savedmodel_child.ts');

describeNative('Turbo ViT-Tiny SavedModels vs official Turbo', () => {
  const parity = loadVitTinyParity();
  let tmp: string;
  let worst = 0;
  beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-savedmodel-'))));
  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`Turbo ViT-Tiny SavedModels: max abs diff vs official logits ${worst.toExponential(2)}`);
  });

  test.each(parity.results.map((r, i) => [JSON.stringify(r.config), i, r] as const))('%s', async (_name, i, expected) => {
    const run = await runInNode<SavedModelRunJson>(CHILD, 'runSavedModelParity', [embeddedModelDir(), path.join(tmp, `config-${i}`), toOptions(expected.config), false]);
    const merging = expected.tokensAfterEachBlock.some((t) => t !== 197);
    expect(run.turboOps).toBe(merging);
    expect(run.plannedTokens).toEqual(expected.tokensAfterEachBlock);
    if (merging) expect(run.tokens).toEqual(expected.tokensAfterEachBlock);
    const d = maxAbsDiff(run.output, expected.logits.flat());
    worst = Math.max(worst, d);
    expect(d).toBeLessThan(2e-3);
    expect(argmaxRows(run.output, 1000)).toEqual(expected.top1);
  });
});
