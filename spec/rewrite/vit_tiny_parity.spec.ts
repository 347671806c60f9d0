// The rewritten real ViT-Tiny against the official Turbo implementation's outputs
// (../shared/parity/vit-tiny-turbo.json, 9 configurations), on cpu and wasm, for both the graph
// our converter writes (models/vit-tiny-patch16-224) and the real tensorflowjs_converter output
// of HF TFViTForImageClassification with the same weights (models/vit-tiny-patch16-224-tfjs-converter).

import * as path from 'path';
import { EMBEDDED_MODEL_DIR } from '../../src/convert';
import { registerTurboOps } from '../../src/ops/register';
import { useBackend } from '../../src/runtime/backend';
import { argmaxRows, loadVitTinyParity, maxAbsDiff, toOptions } from '../helpers/parity';
import { runModel } from '../helpers/run_turbo';

const parity = loadVitTinyParity();
const { results } = parity;
const HF_EXPORT = path.resolve(__dirname, '..', '..', 'models', 'vit-tiny-patch16-224-tfjs-converter');

const cases = [
  ['ours', EMBEDDED_MODEL_DIR],
  ['tensorflowjs_converter', HF_EXPORT],
] as const;

describe.each(['cpu', 'wasm'] as const)('%s backend', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
    registerTurboOps();
  });

  describe.each(cases)('ViT-Tiny graph from %s vs official Turbo', (_from, dir) => {
    test.each(results.map((r) => [JSON.stringify(r.config), r] as const))('%s', async (_name, expected) => {
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
