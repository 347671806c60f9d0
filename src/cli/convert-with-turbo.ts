#!/usr/bin/env node
// convert-with-turbo [IN_DIR] [OUT_DIR]: bake Turbo token merging into a tfjs graph model.

import * as path from 'path';
import { Command, InvalidArgumentError } from 'commander';
import { ConvertOptions, EMBEDDED_MODEL_DIR, convertWithTurbo } from '../convert';
import { estimateFlopRatio } from '../turbo/schedule';
import { RSchedule } from '../turbo/options';
import { runCli } from './run';
import { progressBar } from './progress';

function parseR(value: string): RSchedule {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length === 1) return toNumber(parts[0], '--r');
  if (parts.length === 2) return { r: toNumber(parts[0], '--r'), inflect: toNumber(parts[1], '--r inflect') };
  throw new InvalidArgumentError('expected R or R,INFLECT (use --r-list for one r per block)');
}

function parseRList(value: string): number[] {
  return value.split(',').map((s) => toNumber(s.trim(), '--r-list'));
}

function toNumber(s: string, what: string): number {
  const v = Number(s);
  if (s === '' || !Number.isFinite(v)) throw new InvalidArgumentError(`${what}: '${s}' is not a number`);
  return v;
}

function floatOption(what: string) {
  return (s: string) => toNumber(s, what);
}

export function buildProgram(): Command {
  return new Command('convert-with-turbo')
    .description('Rewrite a tfjs graph model (model.json + shards) with Turbo token merging.')
    .argument('[IN_DIR]', 'input graph model directory (default: the embedded ViT-Tiny/16-224)')
    .argument('[OUT_DIR]', 'output directory (default: <IN_DIR name>-turbo in the current directory)')
    .option('--r <r>', 'tokens merged per block: R, or R,INFLECT for a linear schedule', parseR, 16)
    .option('--r-list <list>', 'one r per block, comma-separated (padded with 0)', parseRList)
    .option('--alpha <alpha>', 'weight of class-token attention in the ranking (0 = ToMe)', floatOption('--alpha'), 5)
    .option('--beta <beta>', 'per-layer decay of alpha', floatOption('--beta'), 1)
    .option('--gamma <gamma>', 'layer at which the alpha weight peaks', floatOption('--gamma'), 0)
    .option('--r-threshold <n>', 'stop merging once fewer tokens remain', floatOption('--r-threshold'), 0)
    .option('--no-prop-attn', 'do not add log(size) to the attention logits')
    .option('--architecture <name>', 'force an architecture family (vit, deit, ...) instead of detecting it')
    .option('--dry-run', 'print the per-block token schedule and FLOP ratio; write nothing')
    .option('--force', 'replace OUT_DIR if it exists')
    .action(async (inArg: string | undefined, outArg: string | undefined, opts) => {
      const inDir = inArg ?? EMBEDDED_MODEL_DIR;
      const outDir = outArg ?? path.resolve(`${path.basename(path.resolve(inDir))}-turbo`);
      const readBar = progressBar('reading weights');
      const bar = opts.dryRun ? undefined : progressBar('writing weights');
      const options: ConvertOptions = {
        r: opts.rList ?? opts.r,
        alpha: opts.alpha,
        beta: opts.beta,
        gamma: opts.gamma,
        rThreshold: opts.rThreshold,
        propAttn: opts.propAttn,
        architecture: opts.architecture,
        force: !!opts.force,
        dryRun: !!opts.dryRun,
        onReadProgress: (done, total) => {
          readBar.update(done, total);
          if (done === total) readBar.stop();
        },
        onWriteProgress: bar?.update,
      };
      const result = await convertWithTurbo(inDir, opts.dryRun ? null : outDir, options).finally(() => {
        readBar.stop();
        bar?.stop();
      });
      const { plan } = result;
      console.log(`${plan.architecture}: ${plan.blocks.length} blocks, ${plan.tokenCount} tokens, ${plan.protectedTokens} protected`);
      console.log(`r per block:      ${plan.schedule.join(' ')}`);
      console.log(`tokens per block: ${plan.tokensAfterBlock.join(' ')}`);
      if (plan.dims) {
        const ratio = estimateFlopRatio(plan.tokenCount, plan.tokensAfterBlock, plan.dims);
        console.log(`estimated FLOP ratio (blocks, width ${plan.dims.hidden}, MLP ${plan.dims.mlp}): ${ratio.toFixed(3)}x fewer`);
      }
      if (result.outDir) {
        console.log(`merges: ${result.merges}, proportional attention: ${result.biasedSoftmaxes}, dynamic reshapes: ${result.dynamicReshapes}`);
        console.log(`rewrite took ${(result.rewriteSeconds * 1000).toFixed(1)} ms; wrote ${result.outDir}`);
      }
    });
}

if (require.main === module) runCli(buildProgram());
