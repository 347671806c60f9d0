#!/usr/bin/env node
// The main job on a fresh clone (`npm start`): convert the embedded ViT-Tiny with Turbo, then
// classify a bundled photo with the original and the Turbo model and report the speed-up.

import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { Command, Option } from 'commander';
import { embeddedModelDir, convertWithTurbo } from '../convert';
import { preprocessImage, readPreprocessing } from '../image/preprocess';
import { TurboGraphModel, loadTurboModel } from '../runtime/load';
import { BackendName, NODE_BACKENDS, describeBackend, useBackend } from '../runtime/backend';
import { estimateFlopRatio } from '../turbo/schedule';
import { runCli } from './run';
import { TurboInputError } from '../errors';
import { packageRoot } from '../paths';
import { DEFAULT_TURBO_OPTIONS } from '../turbo/options';
import { interleave, median, timedHere } from '../runtime/timing';

const DEFAULT_IMAGE = path.join(packageRoot(), 'assets', 'hare.jpg');

function topK(logits: Float32Array | Int32Array | Uint8Array, k: number): number[] {
  return Array.from(logits.keys())
    .sort((a, b) => logits[b] - logits[a])
    .slice(0, k);
}

/**
 * Median wall-clock ms per model over `rounds` interleaved rounds after 3 warm-up rounds, each run
 * with its logits read back: the benchmarks' timing harness (src/runtime/timing.ts).
 */
async function timeInterleaved(models: GraphModel[], input: tf.Tensor, rounds: number): Promise<number[]> {
  const runOnce = async (m: GraphModel) => {
    const out = m.execute({ pixel_values: input }, 'logits') as tf.Tensor;
    await out.data();
    out.dispose();
  };
  const { times } = await interleave(
    models.map((m, i) => timedHere(`model ${i}`, () => runOnce(m))),
    { rounds, warmup: 3 },
  );
  return times.map((t) => median(t.wall));
}

/** Which of loadTurboModel's routes runs the models, and why when it is not the session. */
function describeRoute(m: TurboGraphModel): string {
  if (m.route === 'session') return 'session (the whole model as one TensorFlow graph, one call per run)';
  return `op by op (tfjs's graph executor${m.routeReason ? `: ${m.routeReason}` : ''})`;
}

/** The demo as a commander program; `log` receives each output line (tests collect them). */
export function buildDemoProgram(log: (line: string) => void = console.log): Command {
  return new Command('tfjs-turbo-demo')
  .description('Convert the embedded ViT-Tiny with Turbo and classify a photo with both models.')
  .argument('[IMAGE]', 'JPEG or PNG to classify', DEFAULT_IMAGE)
  .option('--out <dir>', 'where the Turbo model is written', 'out/vit-tiny-patch16-224-turbo')
  .option('--r <r>', 'tokens merged per block', (s) => Number(s), DEFAULT_TURBO_OPTIONS.r as number)
  .option('--alpha <alpha>', 'class-attention weight (0 = ToMe)', (s) => Number(s), DEFAULT_TURBO_OPTIONS.alpha)
  .addOption(
    new Option('--backend <name>', 'default: tensorflow when tfjs-node is installed (npm run setup:native), else wasm').choices(NODE_BACKENDS),
  )
  .option('--rounds <n>', 'timed runs per model (median reported)', (s) => Number(s), 10)
  .action(async (image: string, opts) => {
    if (!fs.existsSync(image)) throw new TurboInputError(image, 'image not found');
    const converted = await convertWithTurbo(embeddedModelDir(), opts.out, { r: opts.r, alpha: opts.alpha, force: true });
    const { plan } = converted;
    log(`Converted ${path.relative(process.cwd(), embeddedModelDir())} -> ${opts.out} (r=${opts.r}, alpha=${opts.alpha})`);
    log(`tokens after each block: ${plan.tokensAfterBlock.join(' ')} (original: ${plan.tokenCount} in every block)`);

    await useBackend(opts.backend as BackendName | undefined);
    log(`backend: ${describeBackend()}`);
    const original = await loadTurboModel(embeddedModelDir());
    const turbo = await loadTurboModel(opts.out);
    log(`route: ${describeRoute(turbo)}`);
    let pixels: tf.Tensor4D | undefined;
    try {
      const prep = await readPreprocessing(embeddedModelDir());
      const classes = fs.readFileSync(path.join(embeddedModelDir(), 'imagenet-classes.txt'), 'utf8').split('\n');
      const crop = prep.center_crop;
      pixels = tf.tensor4d(await preprocessImage(image, prep), [1, 3, crop, crop]);
      const input = pixels;

      for (const [name, model] of [['original', original], ['turbo', turbo]] as const) {
        const logits = model.execute({ pixel_values: input }, 'logits') as tf.Tensor;
        const softmax = tf.softmax(logits);
        const probs = await softmax.data();
        tf.dispose([logits, softmax]);
        const top = topK(probs, 5).map((c) => `${classes[c]} (${(probs[c] * 100).toFixed(1)}%)`);
        log(`${name.padEnd(8)} top-5: ${top.join(', ')}`);
      }

      const [tOrig, tTurbo] = await timeInterleaved([original, turbo], input, opts.rounds);
      log(
        `${tf.getBackend()} backend, batch 1, median of ${opts.rounds}: original ${tOrig.toFixed(1)} ms, ` +
          `turbo ${tTurbo.toFixed(1)} ms, speed-up ${(tOrig / tTurbo).toFixed(2)}x ` +
          `(FLOP ratio ${plan.dims ? estimateFlopRatio(plan.tokenCount, plan.tokensAfterBlock, plan.dims).toFixed(2) : '?'})`,
      );
    } finally {
      // In-process callers (the tests, an app embedding the demo) get their memory back.
      original.dispose();
      turbo.dispose();
      pixels?.dispose();
    }
    });
}

if (require.main === module) runCli(buildDemoProgram());
