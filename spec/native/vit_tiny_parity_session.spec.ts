// The official Turbo vectors (all 9 configurations of the ViT-Tiny parity file) through what a user
// runs on tfjs-node: loadTurboModel's default route, i.e. the model.json as one TensorFlow graph.
// Same tolerances as the op-by-op suites: tokens after every block exact, logits within 2e-3, same
// top-1. Needs tfjs-node and the op library (spec/native/helpers.ts says NOT TESTED otherwise).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir } from '../../src/convert';
import { runInNode } from '../helpers/node_child';
import { argmaxRows, loadVitTinyParity, maxAbsDiff, toOptions } from '../helpers/parity';
import { describeNative } from './helpers';
import { SessionRunJson } from './run_session_child';

const CHILD = path.join(__dirname, 'run_session_child.ts');

describeNative("ViT-Tiny through loadTurboModel's default route on tensorflow vs official Turbo", () => {
  const parity = loadVitTinyParity();
  let cache: string;
  let worst = 0;
  beforeAll(() => (cache = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-session-cache-'))));
  afterAll(() => {
    fs.rmSync(cache, { recursive: true, force: true });
    console.log(`ViT-Tiny, session route: max abs diff vs official logits ${worst.toExponential(2)}`);
  });

  test.each(parity.results.map((r) => [JSON.stringify(r.config), r] as const))('%s', async (_name, expected) => {
    const run = await runInNode<SessionRunJson>(CHILD, 'runSessionParity', [embeddedModelDir(), toOptions(expected.config), cache]);
    expect({ route: run.route, reason: run.routeReason }).toEqual({ route: 'session', reason: undefined });
    expect(run.plannedTokens).toEqual(expected.tokensAfterEachBlock);
    expect(run.tokens).toEqual(expected.tokensAfterEachBlock);
    const d = maxAbsDiff(run.output, expected.logits.flat());
    worst = Math.max(worst, d);
    expect(d).toBeLessThan(2e-3);
    expect(argmaxRows(run.output, 1000)).toEqual(expected.top1);
  });

  test('unmerged model: official r = 0 logits, same top-1', async () => {
    const expected = parity.results.find((r) => r.config.r === 0)!;
    const run = await runInNode<SessionRunJson>(CHILD, 'runSessionParity', [embeddedModelDir(), null, cache]);
    expect(run.route).toBe('session');
    expect(maxAbsDiff(run.output, expected.logits.flat())).toBeLessThan(2e-3);
    expect(argmaxRows(run.output, 1000)).toEqual(expected.top1);
  });
});
