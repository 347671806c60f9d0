// The rewritten real ViT-Tiny on the tensorflow backend with the native TurboMerge and
// TurboPropAttnBias, against the official Turbo implementation's outputs (all 9 configurations
// of ../shared/parity/vit-tiny-turbo.json), with today's tolerance (2e-3 on the logits, same top-1,
// same token counts after every block).
import * as path from 'path';
import { embeddedModelDir } from '../../src/convert';
import { RewriteOptions } from '../../src/rewrite/pass';
import { runInNode } from '../helpers/node_child';
import { argmaxRows, loadVitTinyParity, maxAbsDiff, toOptions } from '../helpers/parity';
import { TurboRunJson } from '../helpers/run_turbo_child';
import { describeNative } from './helpers';

const CHILD = path.join(__dirname, 'run_native_child.ts');

function run(options: RewriteOptions | null) {
  return runInNode<TurboRunJson & { nativeMerges: number }>(CHILD, 'runNativeParityModel', [embeddedModelDir(), options]);
}

describeNative('ViT-Tiny through the native Turbo ops vs official Turbo', () => {
  const parity = loadVitTinyParity();
  let worst = 0;
  afterAll(() => console.log(`ViT-Tiny, native ops on tensorflow: max abs diff vs official logits ${worst.toExponential(2)}`));

  test.each(parity.results.map((r) => [JSON.stringify(r.config), r] as const))('%s', async (_name, expected) => {
    const out = await run(toOptions(expected.config));
    expect(out.tokens).toEqual(expected.tokensAfterEachBlock);
    expect(out.nativeMerges).toBe(out.merges);
    const d = maxAbsDiff(out.output, expected.logits.flat());
    worst = Math.max(worst, d);
    expect(d).toBeLessThan(2e-3);
    expect(argmaxRows(out.output, 1000)).toEqual(expected.top1);
  });
});
