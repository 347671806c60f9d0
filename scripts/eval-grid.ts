#!/usr/bin/env node
// Top-1/top-5 of a Turbo-rewritten ViT (default: the embedded ViT-Tiny) over an r × alpha grid on a
// labelled image folder, with measured throughput: JSON results, a plot (vega-lite → SVG) of top-1
// against measured throughput, and a generated section of docs/BENCHMARKS.md.
//
//   node dist/scripts/eval-grid.js [IMAGES_DIR] [--model DIR] [--r 0,4,8,13,16] [--alpha 0,0.1,0.5,1,5]
//        [--limit N] [--out FILE.json] [--plot FILE.svg | --no-plot] [--docs FILE.md | --no-docs]
//   node dist/scripts/eval-grid.js --from docs/eval/vit-tiny-grid.json   (re-render plot + markdown)
//   node dist/scripts/eval-grid.js --pareto [IMAGES_DIR] [--targets 1.5,1.75,2,2.5] [--calibration 200]
//        top-1 vs measured speed-up of ToMe, Turbo and the tuner's picks on held-out photos
//        (scripts/bench/grid/pareto.ts; docs/ACCURACY.md, docs/eval/pareto.json and pareto.svg)
//
// Accuracy: one pass of every model over every image (batch 8; tensorflow backend when tfjs-node is
// installed, else wasm).
// Throughput, on a shared and noisy machine: after its accuracy pass each merged model and the
// unmerged one (both warm, both loaded) run the same few batches alternately (A B, B A, ...), each
// batch timed from input upload to the top-5 read back; the speed-up is the median over those pairs
// of unmerged seconds ÷ merged seconds, so both sides of each ratio saw the same load. The unmerged
// model's drift over the run is reported from those paired measurements and from its two full
// passes, before and after the grid (which must also give identical predictions).
// The run: scripts/bench/grid/ (run.ts; evaluate.ts times through src/runtime/timing.ts).

import * as path from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { embeddedModelDir } from '../src/convert';
import { runProgram } from '../src/cli/run';
import { packageRoot } from '../src/paths';
import { NODE_BACKENDS } from '../src/runtime/backend';
import * as fs from 'fs';
import { PARETO_PLOT, ParetoResult, publishPareto, runPareto } from './bench/grid/pareto';
import { PLOT_NAME, ProgramIo, republish } from './bench/grid/render';
import { GridOptions, runGrid } from './bench/grid/run';

const ROOT = packageRoot();
const DEFAULT_IMAGES = path.resolve(ROOT, '..', 'shared', 'data', 'nips17-dev');
const DEFAULT_OUT = path.join(ROOT, 'docs', 'eval', 'vit-tiny-grid.json');
const DEFAULT_DOCS = path.join(ROOT, 'docs', 'BENCHMARKS.md');
const PARETO_OUT = path.join(ROOT, 'docs', 'eval', 'pareto.json');
const PARETO_DOCS = path.join(ROOT, 'docs', 'ACCURACY.md');
/** The Pareto run's fixed schedules: constant r at FLOP ratios 1.37, 1.50, 1.74 and 2.07 on ViT-Tiny. */
const PARETO_R = [8, 10, 13, 16];
const PARETO_ALPHA = [0, 1, 5];

const processIo: ProgramIo = { err: (s) => process.stderr.write(s), out: (s) => process.stdout.write(s) };

function list(name: string, integer: boolean) {
  return (s: string): number[] => {
    const values = s.split(',').map((v) => v.trim());
    return values.map((v) => {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name}: '${v}' is not a number`);
      if (integer && (!Number.isInteger(n) || n < 0)) throw new InvalidArgumentError(`${name}: '${v}' is not a non-negative integer`);
      return n;
    });
  };
}

function positive(name: string) {
  return (s: string): number => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name}: '${s}' is not a positive integer`);
    return n;
  };
}

export function buildProgram(io: ProgramIo = processIo): Command {
  const program: Command = new Command('eval-grid')
    .description('Top-1/top-5 and measured throughput of Turbo ViT over an r × alpha grid on a labelled image folder.')
    .argument('[IMAGES_DIR]', 'folder with the images and labels.csv (columns file,label)', DEFAULT_IMAGES)
    .option('--model <dir>', 'tfjs graph model directory (default: the embedded ViT-Tiny)', embeddedModelDir())
    .option('--r <list>', 'tokens merged per block, comma-separated (the unmerged model is always measured)', list('--r', true), [0, 4, 8, 13, 16])
    .option('--alpha <list>', 'alpha values; 0 is ToMe', list('--alpha', false), [0, 0.1, 0.5, 1, 5])
    .addOption(new Option('--backend <name>', 'tfjs backend (default: tensorflow when tfjs-node is installed, else wasm)').choices(NODE_BACKENDS as string[]))
    .option('--batch <n>', 'images per batch', positive('--batch'), 8)
    .option('--warmup <n>', 'untimed warm-up batches per model', (s) => (s === '0' ? 0 : positive('--warmup')(s)), 2)
    .option('--pairs <n>', 'paired timing batches per configuration (merged and unmerged alternately)', positive('--pairs'), 12)
    .option('--limit <n>', 'only the first n images of labels.csv', positive('--limit'))
    .option('--out <file>', 'JSON results', DEFAULT_OUT)
    .option('--plot <file>', `SVG plot (default: ${PLOT_NAME} beside the JSON)`)
    .option('--no-plot', 'skip the plot')
    .option('--docs <file>', "markdown file whose 'eval-grid' section is replaced", DEFAULT_DOCS)
    .option('--no-docs', 'do not touch any markdown file')
    .option('--no-progress', 'no progress bars or per-configuration lines')
    .option('--from <json>', 'evaluate nothing: re-render the plot and the markdown from a saved result')
    .option('--pareto', `instead of the grid: top-1 on held-out photos vs measured speed-up for ToMe, Turbo and the tuner's picks (defaults: --r ${PARETO_R.join(',')} --alpha ${PARETO_ALPHA.join(',')}, --out ${path.relative(ROOT, PARETO_OUT)}, --docs ${path.relative(ROOT, PARETO_DOCS)})`)
    .option('--targets <list>', '--pareto: FLOP ratios the tuner is run for', list('--targets', false), [1.5, 1.75, 2, 2.5])
    .option('--calibration <n>', '--pareto: photos the tuner may see (the rest are held out)', positive('--calibration'), 200)
    .option('--seed <n>', '--pareto: seed of the calibration/held-out split and of the tuner', positive('--seed'), 1)
    .option('--max-evals <n>', '--pareto: the tuner\'s candidate budget per target', positive('--max-evals'), 48)
    .option('--time-limit <seconds>', '--pareto: the tuner\'s time limit per target (as the CLI\'s default)', positive('--time-limit'), 150)
    .action((imagesDir: string, opts: GridOptions & { from?: string; pareto?: boolean; targets: number[]; calibration: number; seed: number; maxEvals: number; timeLimit: number }) => {
      if (!opts.pareto) return opts.from ? republish(opts.from, opts, io) : runGrid(imagesDir, opts, io);
      const given = (k: string) => program.getOptionValueSource(k) !== 'default';
      const out = given('out') ? opts.out : PARETO_OUT;
      const plot = opts.plot === false ? false : (opts.plot ?? path.join(path.dirname(path.resolve(out)), PARETO_PLOT));
      const docs = opts.docs === false ? false : given('docs') ? opts.docs : PARETO_DOCS;
      if (opts.from) return publishPareto(JSON.parse(fs.readFileSync(opts.from, 'utf8')) as ParetoResult, { out: opts.from, plot, docs }, io);
      return runPareto(
        imagesDir,
        {
          model: opts.model,
          r: given('r') ? opts.r.filter((r) => r > 0) : PARETO_R,
          alpha: given('alpha') ? opts.alpha : PARETO_ALPHA,
          targets: opts.targets,
          calibration: opts.calibration,
          seed: opts.seed,
          batch: opts.batch,
          pairs: opts.pairs,
          maxEvals: opts.maxEvals,
          timeLimit: opts.timeLimit,
          out,
          plot,
          docs,
        },
        io,
      ).then(() => undefined);
    });
  return program;
}

if (require.main === module) runProgram(buildProgram(), process.argv.slice(2)).then((c) => (process.exitCode = c));
