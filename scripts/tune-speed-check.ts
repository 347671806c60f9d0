#!/usr/bin/env node
// A fresh measurement of a tuned model's speed-up, independent of the tuner's own: the model and
// the unmerged one it was converted from, loaded as an app would (loadTurboModel), timed in
// interleaved rounds on one backend, batch 8 of the calibration photos by default.
//
//   node dist/scripts/tune-speed-check.js TUNED_DIR [--original DIR] [--backend wasm] [--rounds 15] [--batch 8] [--images DIR]

import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { Command, Option } from 'commander';
import { embeddedModelDir } from '../src/convert';
import { readPreprocessing } from '../src/image/preprocess';
import { runProgram } from '../src/cli/run';
import { packageRoot } from '../src/paths';
import { BackendName, NODE_BACKENDS, describeBackend, useBackend } from '../src/runtime/backend';
import { loadTurboModel } from '../src/runtime/load';
import { interleave, median, timedHere } from '../src/runtime/timing';
import { readCalibrationSet } from '../src/tune/calibration';
import { machineLine } from './bench/machine';

const program = new Command('tune-speed-check')
  .argument('<tuned>', 'the tuned Turbo model directory')
  .option('--original <dir>', 'the unmerged model it was converted from', embeddedModelDir())
  .addOption(new Option('--backend <name>', 'where to time').choices(NODE_BACKENDS as string[]).default('wasm'))
  .option('--rounds <n>', 'timed rounds (each runs both models once, the order alternating)', (s) => Number.parseInt(s, 10), 15)
  .option('--batch <n>', 'images per run', (s) => Number.parseInt(s, 10), 8)
  .option('--images <dir>', 'photos to run on (the first --batch of them)', path.resolve(packageRoot(), '..', 'shared', 'data', 'nips17-dev'))
  .action(async (tuned: string, o: { original: string; backend: BackendName; rounds: number; batch: number; images: string }) => {
    await useBackend(o.backend);
    const x = (await readCalibrationSet(o.images, await readPreprocessing(o.original), o.batch)).inputs;
    const models = [await loadTurboModel(o.original), await loadTurboModel(tuned)];
    const input = models[0].inputs[0].name;
    const runners = models.map((m, i) =>
      timedHere(i ? 'tuned' : 'unmerged', async () => {
        const y = m.execute({ [input]: x }) as tf.Tensor;
        await y.data();
        y.dispose();
      }),
    );
    const { times } = await interleave(runners, { rounds: o.rounds });
    const ratios = times[0].wall.map((t, i) => t / times[1].wall[i]);
    const sorted = [...ratios].sort((a, b) => a - b);
    console.log(
      JSON.stringify(
        {
          tuned: path.resolve(tuned),
          backend: describeBackend(),
          batch: o.batch,
          rounds: o.rounds,
          unmergedMs: median(times[0].wall),
          tunedMs: median(times[1].wall),
          speedup: median(ratios),
          quartiles: [sorted[Math.floor(sorted.length / 4)], sorted[Math.floor((3 * sorted.length) / 4)]],
          machine: machineLine(),
        },
        null,
        1,
      ),
    );
    models.forEach((m) => m.dispose());
    x.dispose();
  });

if (require.main === module) runProgram(program, process.argv.slice(2)).then((c) => (process.exitCode = c));
