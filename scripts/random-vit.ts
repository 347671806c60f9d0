#!/usr/bin/env node
// Writes the deterministic random-weight ViT-B/16-224 checkpoint of the benchmarks
// (scripts/random_vit.ts) into a directory.

import { Command } from 'commander';
import { runProgram } from '../src/cli/run';
import { VIT_B16_224, writeRandomVit } from './random_vit';

/**
 * CLI: writes the random ViT-B/16-224 checkpoint (the one scripts/bench.ts converts) into OUT_DIR,
 * e.g. to export it by hand with scripts/bench/export_onnx.py --checkpoint OUT_DIR.
 *   node dist/scripts/random-vit.js OUT_DIR [--seed 0]
 */
async function randomVitCli(args: string[]): Promise<number> {
  const program = new Command('random-vit')
    .description('Write a deterministic random-weight ViT-B/16-224 checkpoint (timm names): model.safetensors + config.json')
    .argument('<out-dir>', 'output directory (created if missing)')
    .option('--seed <n>', 'rng seed', (s) => Number(s), 0)
    .action((outDir: string, o: { seed: number }) => {
      if (!Number.isInteger(o.seed) || o.seed < 0) throw new Error(`--seed: '${o.seed}' is not an integer >= 0`);
      const { weights, config } = writeRandomVit(outDir, VIT_B16_224, o.seed);
      process.stdout.write(`${weights}\n${config}\n`);
    });
  return runProgram(program, args);
}

if (require.main === module) randomVitCli(process.argv.slice(2)).then((c) => (process.exitCode = c));
