// The rewritten real ViT-Tiny against the official Turbo implementation's outputs
// (../shared/parity/vit-tiny-turbo.json, 9 configurations), on cpu and wasm, and on tensorflow when
// tfjs-node is installed. Shared by one spec
// file per graph source, so jest runs the sources in parallel workers.

import * as path from 'path';
import { RewriteOptions } from '../../src/rewrite/pass';
import { BackendName } from '../../src/runtime/backend';
import { modelBackends } from './backends';
import { runInNode } from './node_child';
import { argmaxRows, loadVitTinyParity, maxAbsDiff, ParityResult, toOptions } from './parity';
import { TurboRunJson } from './run_turbo_child';

const CHILD_MODULE = path.join(__dirname, 'run_turbo_child.ts');

/** Each run is a plain node child: see node_child.ts for why. */
function runModel(backend: BackendName, dir: string, options: RewriteOptions | null): Promise<TurboRunJson> {
  return runInNode<TurboRunJson>(CHILD_MODULE, 'runParityModel', [backend, dir, options]);
}

/**
 * The cpu backend is a slow reference (about a minute a configuration per graph source on a 2-core
 * machine), so by default it runs a fixed sample that still spans the option space: plain ToMe, the
 * r_threshold stop and the per-layer beta/gamma weighting. wasm and tensorflow run all nine, which
 * cover every configuration on an independent kernel. TFJS_TURBO_FULL_PARITY=1 runs all nine on cpu.
 */
const CPU_SAMPLE = new Set(['{"r":8,"alpha":0}', '{"r":16,"alpha":5,"rThreshold":40}', '{"r":10,"alpha":2,"beta":0.9,"gamma":4}']);

function configsFor(backend: BackendName, results: ParityResult[]): ParityResult[] {
  if (backend !== 'cpu' || process.env.TFJS_TURBO_FULL_PARITY === '1') return results;
  const sample = results.filter((r) => CPU_SAMPLE.has(JSON.stringify(r.config)));
  // A renamed or regenerated fixture must not shrink the sample to nothing unnoticed.
  if (sample.length !== CPU_SAMPLE.size) throw new Error(`cpu parity sample found ${sample.length} of ${CPU_SAMPLE.size} configurations in the fixture`);
  return sample;
}

export function describeVitTinyParity(source: string, dir: string): void {
  const parity = loadVitTinyParity();
  const worst: Record<string, number> = {};
  afterAll(() => console.log(`ViT-Tiny (${source}) max abs diff vs official logits, per backend: ${JSON.stringify(worst)}`));

  describe.each(modelBackends())('%s backend', (backend) => {
    describe(`ViT-Tiny graph from ${source} vs official Turbo`, () => {
      test.each(configsFor(backend, parity.results).map((r) => [JSON.stringify(r.config), r] as const))('%s', async (_name, expected) => {
        const run = await runModel(backend, dir, toOptions(expected.config));
        expect(run.tokens).toEqual(expected.tokensAfterEachBlock);
        expect(run.plannedTokens).toEqual(expected.tokensAfterEachBlock);
        const d = maxAbsDiff(run.output, expected.logits.flat());
        worst[backend] = Math.max(worst[backend] ?? 0, d);
        expect(d).toBeLessThan(2e-3);
        expect(argmaxRows(run.output, 1000)).toEqual(expected.top1);
      });

      test('r = 0: the rewritten graph equals the original within 1e-6', async () => {
        const original = await runModel(backend, dir, null);
        const rewritten = await runModel(backend, dir, toOptions({ r: 0, alpha: 5 }));
        expect(rewritten.merges).toBe(0);
        expect(maxAbsDiff(original.output, rewritten.output)).toBeLessThan(1e-6);
      });
    });
  });
}
