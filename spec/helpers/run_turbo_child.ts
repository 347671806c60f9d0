// runModel on the parity inputs, meant to be called in a plain node child (node_child.ts): whole
// models on the cpu backend run ~2.5x slower inside jest's vm context.
import { registerTurboOps } from '../../src/ops/register';
import { RewriteOptions } from '../../src/rewrite/pass';
import { BackendName, useBackend } from '../../src/runtime/backend';
import { loadVitTinyParity } from './parity';
import { runModel } from './run_turbo';

export interface TurboRunJson {
  output: number[];
  tokens: number[];
  plannedTokens: number[];
  merges: number;
}

export async function runParityModel(backend: BackendName, dir: string, options: RewriteOptions | null): Promise<TurboRunJson> {
  await useBackend(backend);
  registerTurboOps();
  const run = await runModel(dir, options, loadVitTinyParity().inputs);
  return { ...run, output: Array.from(run.output) };
}
