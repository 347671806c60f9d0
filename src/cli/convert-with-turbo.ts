#!/usr/bin/env node
// convert-with-turbo [IN_DIR] [OUT_DIR]: bake Turbo token merging into a tfjs graph model.

import * as path from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConvertOptions, embeddedModelDir, convertWithTurbo, stripTurboModel } from '../convert';
import { SavedModelInfo } from '../savedmodel/write';
import { estimateFlopRatio } from '../turbo/schedule';
import { DEFAULT_TURBO_OPTIONS, MERGE_MODE_NAMES, MERGE_SCORE_NAMES, RSchedule } from '../turbo/options';
import { runCli } from './run';
import { tuneAndConvert } from './tune';
import { progressBar } from './progress';
import { MAX_R, decimal, integer, parseTau } from './numbers';

const parseRValue = integer('--r', MAX_R);
const parseInflect = decimal('--r inflect', -1, 1);

function parseR(value: string): RSchedule {
  const parts = value.split(',');
  if (parts.length === 1) return parseRValue(parts[0]);
  if (parts.length === 2) return { r: parseRValue(parts[0]), inflect: parseInflect(parts[1]) };
  throw new InvalidArgumentError('expected R or R,INFLECT (use --r-list for one r per block)');
}

function parseRList(value: string): number[] {
  const parse = integer('--r-list', MAX_R);
  const list = value.split(',').map(parse);
  if (list.length > 4096) throw new InvalidArgumentError(`--r-list: ${list.length} entries, more blocks than any model has`);
  return list;
}

/** Options that make no sense with --strip, which restores the original model as it was. */
const TURBO_SETTINGS = ['r', 'rList', 'alpha', 'beta', 'gamma', 'rThreshold', 'propAttn', 'architecture', 'dryRun', 'portable', 'score', 'merge', 'tau'];

export function buildProgram(): Command {
  return new Command('convert-with-turbo')
    .description('Rewrite a tfjs graph model (model.json + shards) with Turbo token merging.')
    .argument('[IN_DIR]', 'input graph model directory (default: the embedded ViT-Tiny/16-224)')
    .argument('[OUT_DIR]', 'output directory (default: <IN_DIR name>-turbo in the current directory)')
    .addOption(new Option('--r <r>', 'tokens merged per block: R, or R,INFLECT for a linear schedule').argParser(parseR).default(DEFAULT_TURBO_OPTIONS.r).conflicts('rList'))
    .option('--r-list <list>', 'one r per block, comma-separated (padded with 0)', parseRList)
    .option('--alpha <alpha>', 'weight of class-token attention in the ranking (0 = ToMe)', decimal('--alpha', 0, 10000), DEFAULT_TURBO_OPTIONS.alpha)
    .option('--beta <beta>', 'per-layer decay of alpha', decimal('--beta', 0, 100), DEFAULT_TURBO_OPTIONS.beta)
    .option('--gamma <gamma>', 'layer at which the alpha weight peaks', decimal('--gamma', -1000, 1000), DEFAULT_TURBO_OPTIONS.gamma)
    .option('--r-threshold <n>', 'stop merging once fewer tokens remain', integer('--r-threshold', 1_000_000), DEFAULT_TURBO_OPTIONS.rThreshold)
    .option('--no-prop-attn', 'do not add log(size) to the attention logits')
    .addOption(new Option('--score <score>', 'which tokens merge: turbo (informativity, alpha 0 = ToMe), pitome (energy) or mctf (similarity x informativeness x size, at the block end); pitome and mctf ignore alpha/beta/gamma').choices(MERGE_SCORE_NAMES).default(DEFAULT_TURBO_OPTIONS.score))
    .addOption(new Option('--merge <merge>', 'how merged tokens combine: mean (size-weighted) or mlerp (keeps the largest norm)').choices(MERGE_MODE_NAMES).default(DEFAULT_TURBO_OPTIONS.merge))
    .option('--tau <sim,info,size>', 'MCTF only: temperatures of similarity, informativeness and size (default 1,20,40; 0 turns one off)', parseTau)
    .option('--architecture <name>', 'force an architecture family (vit, deit, ...) instead of detecting it')
    .option('--portable', 'write the Turbo ops as standard TensorFlow ops (no op library needed; fixed token counts)')
    .option('--dry-run', 'print the per-block token schedule and FLOP ratio; write nothing')
    .addOption(new Option('--strip', 'restore the original model from a Turbo model (the inverse rewrite)').conflicts(TURBO_SETTINGS))
    .addOption(
      new Option('--format <format>', 'graph-model (tfjs model.json + shards) or savedmodel (TensorFlow SavedModel for tfjs-node, Python TF, TF Serving)')
        .choices(['graph-model', 'savedmodel'])
        .default('graph-model')
        .conflicts(['strip', 'targetSpeedup', 'targetFlops']),
    )
    .option('--force', 'replace OUT_DIR if it holds a tfjs graph model (or, with --format savedmodel, a SavedModel)')
    .addOption(new Option('--target-speedup <x>', 'tune r per block and alpha to this measured speed-up (needs --calibrate)').argParser(decimal('--target-speedup', 1, 20)).conflicts(['r', 'rList', 'alpha', 'targetFlops', 'strip']))
    .addOption(new Option('--target-flops <x>', 'tune to this FLOP ratio (no timing, deterministic unless --time-limit cuts the search; needs --calibrate)').argParser(decimal('--target-flops', 1, 20)).conflicts(['r', 'rList', 'alpha', 'strip']))
    .option('--calibrate <dir>', 'calibration images for tuning (labels.csv used when present)')
    .option('--max-evals <n>', 'tuning: candidates scored at most', integer('--max-evals', 1000), 48)
    .option('--time-limit <seconds>', 'tuning: start no new candidate after this long, then finish with the best so far', integer('--time-limit', 1_000_000), 150)
    .option('--calibration-limit <n>', 'tuning: use only the first n calibration images', integer('--calibration-limit', 1_000_000))
    .option('--seed <n>', 'tuning: seed of the search/confirm split', integer('--seed', 2 ** 31), 1)
    .addOption(new Option('--backend <name>', 'tuning: where the speed-up is measured (default: the fastest installed)').choices(['wasm', 'cpu', 'tensorflow']))
    .action(async (inArg: string | undefined, outArg: string | undefined, opts) => {
      const inDir = inArg ?? embeddedModelDir();
      const suffix = opts.strip ? 'original' : opts.format === 'savedmodel' ? 'turbo-savedmodel' : 'turbo';
      const outDir = outArg ?? path.resolve(`${path.basename(path.resolve(inDir))}-${suffix}`);
      if (opts.targetSpeedup !== undefined || opts.targetFlops !== undefined) {
        await tuneAndConvert(inDir, outDir, { ...opts, force: !!opts.force, dryRun: !!opts.dryRun });
        return;
      }
      if (opts.strip) {
        const bar = progressBar('writing weights');
        await stripTurboModel(inDir, outDir, { force: !!opts.force, onWriteProgress: bar.update }).finally(() => bar.stop());
        console.log(`restored the original model: wrote ${outDir}`);
        return;
      }
      const readBar = progressBar('reading weights');
      const bar = opts.dryRun ? undefined : progressBar('writing weights');
      const options: ConvertOptions = {
        r: opts.rList ?? opts.r,
        alpha: opts.alpha,
        beta: opts.beta,
        gamma: opts.gamma,
        rThreshold: opts.rThreshold,
        propAttn: opts.propAttn,
        score: opts.score,
        merge: opts.merge,
        tau: opts.tau,
        architecture: opts.architecture,
        portable: !!opts.portable,
        format: opts.format,
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
      console.log(`family because:   ${plan.detection}`);
      console.log(`r per block:      ${plan.schedule.join(' ')}`);
      console.log(`tokens per block: ${plan.tokensAfterBlock.join(' ')}`);
      if (plan.dims) {
        const ratio = estimateFlopRatio(plan.tokenCount, plan.tokensAfterBlock, plan.dims, opts.score === 'mctf');
        console.log(`estimated FLOP ratio (blocks, width ${plan.dims.hidden}, MLP ${plan.dims.mlp}): ${ratio.toFixed(3)}x fewer`);
      }
      if (result.outDir) {
        console.log(`merges: ${result.merges}, proportional attention: ${result.biasedSoftmaxes}, dynamic reshapes: ${result.dynamicReshapes}`);
        console.log(`rewrite took ${(result.rewriteSeconds * 1000).toFixed(1)} ms; wrote ${result.outDir}`);
        if (result.savedModel) console.log(describeSavedModel(result.savedModel));
      }
    });
}

/** What the SavedModel holds and what loading it needs, in one line. */
function describeSavedModel(info: SavedModelInfo): string {
  const io = (m: Record<string, unknown>) => Object.keys(m).join(', ');
  const needs = info.turboOps
    ? 'load with loadTurboSavedModel (or tf.load_op_library in Python): needs the Turbo op library (npm run build:native-ops)'
    : 'standard TensorFlow ops only';
  return `SavedModel (${(info.bytes / 2 ** 20).toFixed(1)} MB), signature serving_default: ${io(info.signature.inputs)} -> ${io(info.signature.outputs)}; ${needs}`;
}

if (require.main === module) runCli(buildProgram());
