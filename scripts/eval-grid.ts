#!/usr/bin/env node
// Top-1/top-5 of a Turbo-rewritten ViT (default: the embedded ViT-Tiny) over an r × alpha grid on a
// labelled image folder, with measured throughput: JSON results, a plot (vega-lite → SVG) of top-1
// against measured throughput, and a generated section of docs/BENCHMARKS.md.
//
//   node dist/scripts/eval-grid.js [IMAGES_DIR] [--model DIR] [--r 0,4,8,13,16] [--alpha 0,0.1,0.5,1,5]
//        [--limit N] [--out FILE.json] [--plot FILE.svg | --no-plot] [--docs FILE.md | --no-docs]
//   node dist/scripts/eval-grid.js --from docs/eval/vit-tiny-grid.json   (re-render plot + markdown)
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
import { PLOT_NAME, ProgramIo, republish } from './bench/grid/render';
import { GridOptions, runGrid } from './bench/grid/run';

const ROOT = packageRoot();
const DEFAULT_IMAGES = path.resolve(ROOT, '..', 'shared', 'data', 'nips17-dev');
const DEFAULT_OUT = path.join(ROOT, 'docs', 'eval', 'vit-tiny-grid.json');
const DEFAULT_DOCS = path.join(ROOT, 'docs', 'BENCHMARKS.md');

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
  return new Command('eval-grid')
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
    .action((imagesDir: string, opts: GridOptions & { from?: string }) => (opts.from ? republish(opts.from, opts, io) : runGrid(imagesDir, opts, io)));
}

if (require.main === module) runProgram(buildProgram(), process.argv.slice(2)).then((c) => (process.exitCode = c));
