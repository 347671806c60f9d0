// Does auto-tuning generalise? Tune the embedded ViT-Tiny on a seeded subset of a labelled image
// folder (default: 100 of the 500 nips17-dev photos), then measure top-1 of the unmerged, the tuned
// and the best constant-r candidate on the held-out rest, which the tuner never saw. Writes
// docs/bench/tune.json and the auto-tune section of docs/BENCHMARKS.md.
//
//   node dist/scripts/tune-eval.js ../shared/data/nips17-dev --target-speedup 1.5 --backend wasm

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { Command } from 'commander';
import { embeddedModelDir, rewriteGraph } from '../src/convert';
import { Graph } from '../src/graph/ir';
import { graphToArtifacts, readGraphModel } from '../src/graph/model_io';
import { readLabels } from '../src/image/labels';
import { preprocessImage, readPreprocessing } from '../src/image/preprocess';
import { registerTurboOps } from '../src/ops/register';
import { packageRoot } from '../src/paths';
import { BackendName, describeBackend, useBackend } from '../src/runtime/backend';
import { DEFAULT_TURBO_OPTIONS } from '../src/turbo/options';
import { splitHalves, tuneTurbo } from '../src/tune/tune';
import { runProgram } from '../src/cli/run';
import { replaceSection } from './markdown';

async function accuracy(graph: Graph, x: tf.Tensor4D, labels: number[]): Promise<number> {
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
  let correct = 0;
  for (let i = 0; i < labels.length; i += 16) {
    const xb = tf.slice(x, [i, 0, 0, 0], [Math.min(16, labels.length - i), -1, -1, -1]);
    const y = model.execute({ pixel_values: xb }, 'logits') as tf.Tensor2D;
    const top = (await tf.argMax(y, 1).data()) as Int32Array;
    top.forEach((t, k) => (correct += t === labels[i + k] ? 1 : 0));
    tf.dispose([xb, y]);
  }
  model.dispose();
  return correct / labels.length;
}

function withSchedule(base: Graph, schedule: number[], alpha: number): Graph {
  const g = new Graph(JSON.parse(JSON.stringify(base.modelJson)), [...base.weights.values()]);
  rewriteGraph(g, { ...DEFAULT_TURBO_OPTIONS, r: schedule, alpha });
  return g;
}

const program = new Command('tune-eval')
  .argument('<images>', 'labelled image folder (labels.csv with file,label)')
  .option('--calibration <n>', 'images the tuner may see', (s) => Number.parseInt(s, 10), 100)
  .option('--target-speedup <x>', 'measured target', Number.parseFloat, 1.5)
  .option('--backend <name>', 'where the speed-up is measured', 'wasm')
  .option('--seed <n>', 'seed of the calibration/held-out split and of the tuner', (s) => Number.parseInt(s, 10), 1)
  .option('--max-evals <n>', 'tuner budget', (s) => Number.parseInt(s, 10), 36)
  .option('--no-write', 'print only')
  .action(async (imagesDir: string, opts) => {
    const started = Date.now();
    registerTurboOps();
    await useBackend();
    const scoreBackend = describeBackend();
    const prep = await readPreprocessing(embeddedModelDir());
    const rows = await readLabels(imagesDir);
    // One seeded shuffle: the first `calibration` images are the tuner's, the rest are held out.
    const [a, b] = splitHalves(rows.length, opts.seed + 1000);
    const order = [...a, ...b];
    const calib = order.slice(0, opts.calibration).sort((p, q) => p - q);
    const held = order.slice(opts.calibration).sort((p, q) => p - q);
    const crop = prep.center_crop;
    const load = async (idx: number[]) => {
      const data = new Float32Array(idx.length * 3 * crop * crop);
      for (const [k, i] of idx.entries()) data.set(await preprocessImage(path.join(imagesDir, rows[i].file), prep), k * 3 * crop * crop);
      return tf.tensor4d(data, [idx.length, 3, crop, crop]);
    };
    const calibX = await load(calib);
    const heldX = await load(held);
    const heldLabels = held.map((i) => rows[i].label);

    const result = await tuneTurbo(embeddedModelDir(), { inputs: calibX, labels: calib.map((i) => rows[i].label), names: calib.map((i) => rows[i].file) }, {
      targetSpeedup: opts.targetSpeedup,
      backend: opts.backend as BackendName,
      maxEvals: opts.maxEvals,
      seed: opts.seed,
      onProgress: ({ done, total }) => process.stderr.write(`\rtuning ${done}/${total}`),
    });
    process.stderr.write('\n');
    await useBackend();
    const base = await readGraphModel(embeddedModelDir());
    const constant = result.log.filter((c) => c.shape === 'constant').sort((p, q) => p.screen.kl - q.screen.kl || q.screen.top1 - p.screen.top1)[0];
    const unmerged = await accuracy(base, heldX, heldLabels);
    const tuned = await accuracy(withSchedule(base, result.chosen.schedule, result.chosen.alpha), heldX, heldLabels);
    const constantAcc = constant ? await accuracy(withSchedule(base, constant.schedule, constant.alpha), heldX, heldLabels) : undefined;
    const report = {
      images: imagesDir,
      calibrationImages: calib.length,
      heldOutImages: held.length,
      targetSpeedup: opts.targetSpeedup,
      speedBackend: opts.backend,
      scoreBackend,
      chosen: { shape: result.chosen.shape, schedule: result.chosen.schedule, alpha: result.chosen.alpha, flops: result.chosen.flops, measuredSpeedup: result.chosen.speedup },
      efficiency: result.efficiency,
      flopTarget: result.flopTarget,
      candidatesScored: result.log.length,
      tunerConfirm: result.confirm,
      heldOut: { unmerged, tuned, delta: tuned - unmerged, bestConstant: constant ? { r: constant.schedule[0], alpha: constant.alpha, flops: constant.flops, accuracy: constantAcc } : null },
      seconds: (Date.now() - started) / 1000,
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Node ${process.version}`,
    };
    console.log(JSON.stringify(report, null, 1));
    if (!opts.write) return;
    const root = packageRoot();
    fs.mkdirSync(path.join(root, 'docs', 'bench'), { recursive: true });
    fs.writeFileSync(path.join(root, 'docs', 'bench', 'tune.json'), `${JSON.stringify(report, null, 1)}\n`);
    const pct = (x: number | undefined) => (x === undefined ? '–' : `${(100 * x).toFixed(1)} %`);
    const c = report.heldOut.bestConstant;
    const section = [
      `Tuned with \`convert-with-turbo --target-speedup ${opts.targetSpeedup} --backend ${opts.backend}\` on ${calib.length} of the photos (seed ${opts.seed}; the tuner itself searched on half of them and confirmed on the other half), then evaluated on the ${held.length} photos it never saw. Scoring ran on ${scoreBackend}; the speed-up is the tuner's interleaved measurement on ${opts.backend} at batch 8. Command: \`node dist/scripts/tune-eval.js ${imagesDir} --calibration ${opts.calibration} --target-speedup ${opts.targetSpeedup} --backend ${opts.backend} --seed ${opts.seed}\` (${report.machine}, ${report.seconds.toFixed(0)} s).`,
      '',
      '| model | r per block | alpha | FLOP ratio | measured speed-up | top-1 on held-out photos |',
      '| --- | --- | --- | --- | --- | --- |',
      `| unmerged | – | – | 1.00 | 1.00x | ${pct(unmerged)} |`,
      `| tuned (${result.chosen.shape}) | ${result.chosen.schedule.join(',')} | ${result.chosen.alpha} | ${result.chosen.flops.toFixed(2)} | ${result.chosen.speedup?.toFixed(2)}x | ${pct(tuned)} (${((tuned - unmerged) * 100).toFixed(1)} points) |`,
      c ? `| best constant r the tuner scored | ${c.r} (all blocks) | ${c.alpha} | ${c.flops.toFixed(2)} | – | ${pct(c.accuracy)} |` : '',
      '',
      `FLOP-to-speed efficiency of the probe on ${opts.backend}: ${report.efficiency?.toFixed(2)}, so candidates were built for a FLOP ratio of ${report.flopTarget.toFixed(2)}. The tuner's own confirmation half: agreement ${pct(result.confirm.top1)}, top-1 ${pct(result.confirm.accuracy)}.`,
    ].join('\n');
    replaceSection(path.join(root, 'docs', 'BENCHMARKS.md'), 'tune', section);
  });

if (require.main === module) runProgram(program, process.argv.slice(2)).then((c) => (process.exitCode = c));
