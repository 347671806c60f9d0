// The real ViT-Tiny converted with --score pitome / mctf and --merge mlerp (r = 16) runs the same on every
// backend: cpu and wasm (src/turbo/merge.ts) and tensorflow (the native op, when installed) agree
// on token counts, top-1 and logits. There are no official model-level outputs for these choices:
// the op-level parity with the official code is spec/ops/pitome_cases.spec.ts.
import * as path from 'path';
import { embeddedModelDir } from '../../src/convert';
import { RewriteOptions } from '../../src/rewrite/pass';
import { BackendName } from '../../src/runtime/backend';
import { modelBackends } from '../helpers/backends';
import { runInNode } from '../helpers/node_child';
import { argmaxRows, maxAbsDiff } from '../helpers/parity';
import { TurboRunJson } from '../helpers/run_turbo_child';

const CHILD_MODULE = path.join(__dirname, '..', 'helpers', 'run_turbo_child.ts');
const run = (backend: BackendName, options: Partial<RewriteOptions>) =>
  runInNode<TurboRunJson>(CHILD_MODULE, 'runParityModel', [backend, embeddedModelDir(), { r: 16, alpha: 5, beta: 1, gamma: 0, rThreshold: 0, propAttn: true, ...options }]);

/**
 * The backends a configuration runs on: all of them for the first, whose cpu run is the slow one;
 * wasm and tensorflow (two independent merge implementations) for the others, unless
 * TFJS_TURBO_FULL_PARITY=1 or tfjs-node is absent, when every backend runs each.
 */
function backendsFor(index: number): BackendName[] {
  const all = modelBackends();
  const sampled = all.filter((b) => b !== 'cpu');
  return index === 0 || process.env.TFJS_TURBO_FULL_PARITY === '1' || sampled.length < 2 ? all : sampled;
}

test.each([
  ['pitome, mean', { score: 'pitome', merge: 'mean' }, 0],
  ['pitome, mlerp', { score: 'pitome', merge: 'mlerp' }, 1],
  ['turbo alpha 5, mlerp', { merge: 'mlerp' }, 2],
  ['mctf, mean', { score: 'mctf', merge: 'mean' }, 3],
] as const)('ViT-Tiny r = 16, %s: every backend gives the first one\'s logits within 2e-3 and its top-1', async (_name, options, index) => {
  const backends = backendsFor(index);
  const runs = await Promise.all(backends.map((b) => run(b, options)));
  const [ref] = runs;
  expect(ref.plannedTokens[0]).toBe(181);
  // Tokens are read at each block's MLP residual: after Turbo's and PiToMe's merge (inside the block),
  // before MCTF's (at the block end), which therefore shows what the block received.
  const expected = 'score' in options && options.score === 'mctf' ? [197, ...ref.plannedTokens.slice(0, -1)] : ref.plannedTokens;
  runs.forEach((r, i) => {
    expect({ backend: backends[i], tokens: r.tokens }).toEqual({ backend: backends[i], tokens: expected });
    expect(maxAbsDiff(r.output, ref.output)).toBeLessThan(2e-3);
    expect(argmaxRows(r.output, 1000)).toEqual(argmaxRows(ref.output, 1000));
  });
  console.log(`ViT-Tiny ${_name}: max |logit - ${backends[0]}| ${backends.map((b, i) => `${b} ${maxAbsDiff(runs[i].output, ref.output).toExponential(2)}`).join(', ')}`);
}, 600_000);
