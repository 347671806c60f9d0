// The rewritten real ViT-Tiny against the official Turbo implementation's outputs
// (../shared/parity/vit-tiny-turbo.json, 9 configurations), on cpu and wasm. Shared by one spec
// file per graph source, so jest runs the sources in parallel workers.

import { registerTurboOps } from '../../src/ops/register';
import { useBackend } from '../../src/runtime/backend';
import { argmaxRows, loadVitTinyParity, maxAbsDiff, toOptions } from './parity';
import { runModel } from './run_turbo';

export function describeVitTinyParity(source: string, dir: string): void {
  const parity = loadVitTinyParity();

  describe.each(['wasm', 'cpu'] as const)('%s backend', (backend) => {
    beforeAll(async () => {
      await useBackend(backend);
      registerTurboOps();
    });

    describe(`ViT-Tiny graph from ${source} vs official Turbo`, () => {
      test.each(parity.results.map((r) => [JSON.stringify(r.config), r] as const))('%s', async (_name, expected) => {
        const run = await runModel(dir, toOptions(expected.config), parity.inputs);
        expect(run.tokens).toEqual(expected.tokensAfterEachBlock);
        expect(run.plannedTokens).toEqual(expected.tokensAfterEachBlock);
        expect(maxAbsDiff(run.output, expected.logits.flat())).toBeLessThan(2e-3);
        expect(argmaxRows(run.output, 1000)).toEqual(expected.top1);
      });

      test('r = 0: the rewritten graph equals the original within 1e-6', async () => {
        const original = await runModel(dir, null, parity.inputs);
        const rewritten = await runModel(dir, toOptions({ r: 0, alpha: 5 }), parity.inputs);
        expect(rewritten.merges).toBe(0);
        expect(maxAbsDiff(original.output, rewritten.output)).toBeLessThan(1e-6);
      });
    });
  });
}
