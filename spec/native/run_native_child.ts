// A parity model run on the tensorflow backend with the native Turbo kernels, in a plain node
// child (spec/helpers/node_child.ts). Refuses to run on the composite path, so a parity pass here
// is a pass of the native op.
import * as tf from '@tensorflow/tfjs-core';
import { registerTurboOps } from '../../src/ops/register';
import { RewriteOptions } from '../../src/rewrite/pass';
import { useBackend } from '../../src/runtime/backend';
import { TurboRunJson } from '../helpers/run_turbo_child';
import { loadVitTinyParity } from '../helpers/parity';
import { runModel } from '../helpers/run_turbo';
import { expectNativeKernel } from './helpers';

export async function runNativeParityModel(dir: string, options: RewriteOptions | null): Promise<TurboRunJson & { nativeMerges: number }> {
  await useBackend('tensorflow');
  registerTurboOps();
  expectNativeKernel();
  // Count the kernel's calls, to show the native op is the one that ran.
  const kernel = tf.getKernel('TurboMerge', 'tensorflow')!;
  let nativeMerges = 0;
  tf.unregisterKernel('TurboMerge', 'tensorflow');
  tf.registerKernel({ ...kernel, kernelFunc: (args) => (nativeMerges++, kernel.kernelFunc(args)) });
  const run = await runModel(dir, options, loadVitTinyParity().inputs);
  return { ...run, output: Array.from(run.output), nativeMerges };
}
