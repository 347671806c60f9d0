// Which tuner settings generalise? The held-out protocol of `eval-grid --pareto` (the same seeded
// split: the tuner sees `--calibration` photos, top-1 is measured on the rest), run once per lever:
// the tuner's defaults, a larger or stratified screening subset, the first blocks kept free of merging, MCTF's
// temperatures among the merge variants. Prints one line per (target, lever) and writes the results
// as JSON. FLOP targets only, so nothing is timed.
//
//   node dist/scripts/tune-levers.js ../shared/data/nips17-dev --targets 2,1.5 --levers default,screen140,free1

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { Command } from 'commander';
import { embeddedModelDir, rewriteGraph } from '../src/convert';
import { readGraphModel } from '../src/graph/model_io';
import { readPreprocessing } from '../src/image/preprocess';
import { registerTurboOps } from '../src/ops/register';
import { describeBackend, useBackend } from '../src/runtime/backend';
import { readCalibrationSet } from '../src/tune/calibration';
import { cloneGraph, disposeRowSet, loadGraph, logitsOn, rowSet } from '../src/tune/scorer';
import { MERGE_VARIANTS, MergeVariant, variantNamed } from '../src/tune/space';
import { TuneOptions, splitHalves, tuneTurbo } from '../src/tune/tune';
import { runProgram } from '../src/cli/run';

const mctfTau = (sim: number, info: number, size: number): MergeVariant[] =>
  (['mean', 'mlerp'] as const).map((merge) => ({
    name: `MCTF${merge === 'mlerp' ? ', MLERP' : ''}, tau ${sim},${info},${size}`,
    options: { score: 'mctf', merge, tau: { sim, info, size } },
    usesAlpha: false,
  }));

/** Each lever is a set of tuner options over the defaults. */
const LEVERS: Record<string, Partial<TuneOptions>> = {
  default: {},
  perBlock: { perBlock: true },
  // The levers below were measured with the per-block search on (the default then).
  screen100: { perBlock: true, screenImages: 100 },
  screen140: { perBlock: true, screenImages: 140 },
  stratified: { perBlock: true, screenSampling: 'stratified' },
  stratified100: { perBlock: true, screenSampling: 'stratified', screenImages: 100 },
  free1: { perBlock: true, freeBlocks: 1 },
  free2: { perBlock: true, freeBlocks: 2 },
  tau: { perBlock: true, variants: [...MERGE_VARIANTS, ...mctfTau(1, 10, 20), ...mctfTau(1, 40, 80), ...mctfTau(2, 20, 40)] },
  free1tau: { perBlock: true, freeBlocks: 1, variants: [...MERGE_VARIANTS, ...mctfTau(1, 10, 20), ...mctfTau(1, 40, 80), ...mctfTau(2, 20, 40)] },
};

const argmax = (d: Float32Array, k: number) => Array.from({ length: d.length / k }, (_, i) => {
  let best = 0;
  for (let c = 1; c < k; c++) if (d[i * k + c] > d[i * k + best]) best = c;
  return best;
});

const program = new Command('tune-levers')
  .argument('<images>', 'labelled image folder (labels.csv)')
  .option('--targets <list>', 'FLOP targets', (s) => s.split(',').map(Number), [2, 1.5])
  .option('--levers <list>', `levers (${Object.keys(LEVERS).join(', ')})`, (s) => s.split(','), Object.keys(LEVERS))
  .option('--calibration <n>', 'photos the tuner sees', (s) => Number.parseInt(s, 10), 200)
  .option('--seed <n>', 'split and tuner seed', (s) => Number.parseInt(s, 10), 1)
  .option('--time-limit <s>', 'tuner time limit', (s) => Number.parseInt(s, 10), 150)
  .option('--out <file>', 'results JSON', 'docs/eval/levers.json')
  .action(async (imagesDir: string, opts) => {
    for (const l of opts.levers) if (!LEVERS[l]) throw new Error(`unknown lever '${l}'`);
    registerTurboOps();
    await useBackend();
    const model = embeddedModelDir();
    const all = await readCalibrationSet(imagesDir, await readPreprocessing(model));
    const labels = all.labels as number[];
    const n = all.inputs.shape[0];
    // eval-grid --pareto's split (scripts/bench/grid/pareto.ts), so the numbers compare with docs/ACCURACY.md.
    const [a, b] = splitHalves(n, opts.seed + 1000);
    const order = [...a, ...b];
    const calib = order.slice(0, opts.calibration).sort((p, q) => p - q);
    const held = order.slice(opts.calibration).sort((p, q) => p - q);
    const heldSet = rowSet('held', all.inputs, held);
    const calibX = tf.gather(all.inputs, tf.tensor1d(calib, 'int32')) as tf.Tensor4D;
    const graph = await readGraphModel(model);
    const source = path.join(model, 'model.json');
    const top1 = async (opt: Parameters<typeof rewriteGraph>[1] | null) => {
      const g = cloneGraph(graph);
      if (opt) rewriteGraph(g, opt, source);
      const m = await loadGraph(g, source);
      try {
        const out = await logitsOn(m, heldSet);
        return argmax(out.data, out.classes).filter((c, i) => c === labels[held[i]]).length / held.length;
      } finally {
        m.model.dispose();
      }
    };
    const unmerged = await top1(null);
    console.log(`backend ${describeBackend()}; ${n} photos, tuner sees ${calib.length}, held out ${held.length}; unmerged top-1 ${(100 * unmerged).toFixed(1)} %`);
    const results: unknown[] = [];
    for (const target of opts.targets as number[]) {
      for (const lever of opts.levers as string[]) {
        const load0 = os.loadavg();
        const o = LEVERS[lever];
        const r = await tuneTurbo(graph, { inputs: calibX, labels: calib.map((i) => labels[i]), names: calib.map((i) => all.names[i]) }, {
          targetFlops: target,
          timeLimitSeconds: opts.timeLimit,
          seed: opts.seed,
          ...o,
        });
        const c = r.chosen;
        const v = variantNamed(c.variant, o.variants ?? MERGE_VARIANTS);
        const t1 = await top1({ ...v.options, r: c.schedule, alpha: c.alpha });
        const row = {
          target,
          lever,
          heldOutTop1: t1,
          delta: t1 - unmerged,
          schedule: c.schedule,
          alpha: c.alpha,
          variant: c.variant,
          flops: c.flops,
          candidates: r.log.length,
          tunerSeconds: r.seconds,
          stopped: r.stopped,
          confirmAgreement: r.confirm.top1,
          load: [load0, os.loadavg()].map((l) => l.map((x) => +x.toFixed(1))),
        };
        results.push(row);
        console.log(
          `FLOP ${target} ${lever}: held-out ${(100 * t1).toFixed(1)} % (${(100 * (t1 - unmerged)).toFixed(1)}), ${c.variant} alpha ${c.alpha} r ${c.schedule.join(',')} FLOP ${c.flops.toFixed(2)}; ` +
            `${r.log.length} candidates, ${r.seconds.toFixed(0)} s${r.stopped ? ` (${r.stopped})` : ''}; load ${row.load.map((l) => l[0]).join(' -> ')}`,
        );
        fs.mkdirSync(path.dirname(opts.out), { recursive: true });
        fs.writeFileSync(opts.out, `${JSON.stringify({ images: path.basename(imagesDir), calibration: calib.length, heldOut: held.length, seed: opts.seed, timeLimit: opts.timeLimit, unmerged, results }, null, 1)}\n`);
      }
    }
    disposeRowSet(heldSet);
    tf.dispose([calibX, all.inputs]);
  });

if (require.main === module) runProgram(program, process.argv.slice(2)).then((c) => (process.exitCode = c));
