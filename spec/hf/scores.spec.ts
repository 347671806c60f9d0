// PiToMe, MCTF and MLERP in the CLIP and BLIP vision fixtures (real tensorflowjs_converter graphs):
// the rewritten graph against score-reference.json, where every merge was computed by the official
// PiToMe, MCTF and Turbo code inside the numpy forward (spec/reference/hf_score_reference.py).
import * as fs from 'fs';
import * as path from 'path';
import { registerTurboOps } from '../../src/ops/register';
import { RewriteOptions } from '../../src/rewrite/pass';
import { MergeMode, MergeScore } from '../../src/turbo/merge';
import { describeBackends } from '../helpers/backends';
import { HF_FIXTURES, TOL_TURBO, compareOutputs, loadHfFixture, runHf } from './hf_fixture';

interface ScoreConfig {
  score: MergeScore;
  merge?: MergeMode;
  r: number | number[];
  rThreshold?: number;
  tau?: [number, number, number];
  alpha?: number;
}

interface ScoreReference {
  architecture: string;
  results: { config: ScoreConfig; tokensAfterEachBlock: number[]; outputs: Record<string, { shape: number[]; data: never }> }[];
}

function options(c: ScoreConfig): RewriteOptions {
  return {
    r: Array.isArray(c.r) ? [...c.r] : c.r,
    alpha: c.alpha ?? 0,
    beta: 1,
    gamma: 0,
    rThreshold: c.rThreshold ?? 0,
    propAttn: true,
    score: c.score,
    merge: c.merge ?? 'mean',
    ...(c.tau ? { tau: { sim: c.tau[0], info: c.tau[1], size: c.tau[2] } } : {}),
  };
}

for (const [name, architecture] of [['clip-small', 'clip'], ['blip-small', 'blip']] as const) {
  const fx = loadHfFixture(name);
  const ref: ScoreReference = JSON.parse(fs.readFileSync(path.join(HF_FIXTURES, name, 'score-reference.json'), 'utf8'));

  test(`${name}: the score reference is this fixture's and covers every score and MLERP`, () => {
    expect(ref.architecture).toBe(architecture);
    const kinds = new Set(ref.results.map((r) => `${r.config.score}/${r.config.merge ?? 'mean'}`));
    for (const k of ['pitome/mean', 'pitome/mlerp', 'mctf/mean', 'mctf/mlerp', 'turbo/mlerp']) expect(kinds).toContain(k);
  });

  describeBackends(`${name} scores`, () => {
    beforeAll(() => registerTurboOps());
    test.each(ref.results.map((r) => [JSON.stringify(r.config), r] as const))(`%s equals the official merges within ${TOL_TURBO}`, async (_label, r) => {
      const run = await runHf(fx, options(r.config));
      expect(run.summary!.plan.architecture).toBe(architecture);
      expect(run.summary!.plan.tokensAfterBlock).toEqual(r.tokensAfterEachBlock);
      // runHf reads each block's MLP residual: MCTF merges after it, so there it holds the tokens the block received.
      const received = [run.summary!.plan.tokenCount, ...r.tokensAfterEachBlock.slice(0, -1)];
      expect(run.tokens).toEqual(r.config.score === 'mctf' ? received : r.tokensAfterEachBlock);
      expect(compareOutputs(run.outputs, r.outputs)).toBeLessThan(TOL_TURBO);
    });
  });
}
