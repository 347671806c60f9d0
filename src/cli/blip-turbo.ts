#!/usr/bin/env node
// blip-turbo: BLIP's tasks on tfjs with Turbo.
//   blip-turbo convert IN_DIR OUT_DIR [--r 30 --alpha 5 --r-threshold N] [--score turbo|pitome|mctf --merge mean|mlerp --tau S,I,Z]
//                      [--drop-rate 0.07 --drop-max 0.8]
//   blip-turbo caption MODEL_DIR IMAGE... [--beams 3 --max-length 20]
//   blip-turbo answer MODEL_DIR IMAGE QUESTION
//   blip-turbo retrieve MODEL_DIR --images A.jpg B.jpg --texts "a dog" "a cat" [--k 16]
import { Command, InvalidArgumentError, Option } from 'commander';
import { BLIP_VISION_DEFAULTS, convertBlipWithTurbo } from '../blip/convert';
import { BlipTask } from '../blip/model';
import { loadBlip } from '../blip/load';
import { caption } from '../blip/caption';
import { answer } from '../blip/answer';
import { retrieve } from '../blip/retrieve';
import { BackendName, describeBackend, useBackend } from '../runtime/backend';
import { MERGE_MODE_NAMES, MERGE_SCORE_NAMES } from '../turbo/options';
import { decimal, integer, MAX_R, parseTau } from './numbers';
import { progressBar } from './progress';
import { runCli } from './run';

const backendOption = () => new Option('--backend <name>', 'tfjs backend (default: tensorflow when installed, else wasm)').choices(['wasm', 'cpu', 'tensorflow']);

function atLeastOne(what: string, max: number) {
  const parse = integer(what, max);
  return (s: string): number => {
    const v = parse(s);
    if (v < 1) throw new InvalidArgumentError(`${what}: must be at least 1`);
    return v;
  };
}

function generationOptions(cmd: Command): Command {
  return cmd
    .option('--beams <n>', 'beam search width (1: greedy)', atLeastOne('--beams', 64), 1)
    .option('--max-length <n>', 'longest output in tokens, [DEC] included', integer('--max-length', 512), 20)
    .option('--min-length <n>', 'shortest output in tokens', integer('--min-length', 512), 0);
}

export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s)): Command {
  const program = new Command('blip-turbo').description('BLIP image-text retrieval, captioning and VQA on tfjs, with Turbo.');

  program
    .command('convert')
    .description('Turbo for a BLIP model directory: vision token merging and text-side image-token dropping')
    .argument('<IN_DIR>', 'BLIP model directory (config.json, tokenizer.json, retrieval/ caption/ vqa/)')
    .argument('<OUT_DIR>', 'output directory')
    .option('--r <r>', 'vision tokens merged per block (default 30)', integer('--r', MAX_R))
    .option('--alpha <alpha>', 'class-token attention weight (default 5)', decimal('--alpha', 0, 10000))
    .option('--r-threshold <n>', 'stop merging below this many tokens (default: 100 retrieval, 40 caption/vqa)', integer('--r-threshold', 1_000_000))
    .addOption(new Option('--score <score>', 'which vision tokens merge: turbo (default; alpha 0 = ToMe), pitome (energy) or mctf (at the block end)').choices(MERGE_SCORE_NAMES))
    .addOption(new Option('--merge <merge>', 'how merged vision tokens combine: mean (default) or mlerp').choices(MERGE_MODE_NAMES))
    .option('--tau <sim,info,size>', 'MCTF only: temperatures (default 1,20,40)', parseTau)
    .option('--no-vision', 'leave the vision encoders unmerged')
    .option('--drop-rate <x>', 'text side: share of the image tokens dropped per cross-attention layer', decimal('--drop-rate', 0, 1), 0.07)
    .option('--drop-max <x>', 'text side: largest share ever dropped', decimal('--drop-max', 0, 1), 0.8)
    .option('--first-token-only', 'text side: rank image tokens by the first text token\'s attention')
    .option('--no-text-drop', 'leave the text graphs as they are')
    .option('--force', 'replace OUT_DIR if it holds a BLIP model directory')
    .action(async (inDir: string, outDir: string, opts) => {
      const vision = opts.vision === false ? false : { r: opts.r, alpha: opts.alpha, rThreshold: opts.rThreshold, score: opts.score, merge: opts.merge, tau: opts.tau };
      const text = opts.textDrop === false ? false : { dropRate: opts.dropRate, dropMax: opts.dropMax, firstTokenOnly: !!opts.firstTokenOnly };
      const bar = progressBar('converting graphs', 'graphs', 1);
      const result = await convertBlipWithTurbo(inDir, outDir, { vision, text, force: !!opts.force, onGraph: (_n, d, t) => bar.update(d, t) }).finally(() => bar.stop());
      for (const g of result.graphs) {
        const what = [g.merged ? 'vision merging' : '', g.dropLayers ? `image-token dropping in ${g.dropLayers} cross-attention layers` : ''].filter(Boolean);
        out(`${g.name}: ${what.length ? what.join(', ') : 'unchanged'}\n`);
      }
      const variant = vision === false ? '' : describeVariant(vision);
      const v = vision === false ? 'off' : Object.entries(BLIP_VISION_DEFAULTS).map(([t, d]) => `${t} r=${vision.r ?? d.r} alpha=${vision.alpha ?? d.alpha} r_threshold=${vision.rThreshold ?? d.rThreshold}`).join('; ') + variant;
      out(`wrote ${outDir} (vision: ${v}; text: ${text === false ? 'off' : `drop_rate=${text.dropRate} drop_max=${text.dropMax}`})\n`);
    });

  generationOptions(
    program
      .command('caption')
      .description('caption images')
      .argument('<MODEL_DIR>', 'BLIP model directory (converted or not)')
      .argument('<IMAGE...>', 'image files')
      .option('--prompt <text>', 'text the caption continues'),
  )
    .addOption(backendOption())
    .action(async (dir: string, images: string[], opts) => {
      const model = await open(dir, 'caption', opts.backend);
      const bar = progressBar('captioning', 'images', 1);
      try {
        for (const [i, image] of images.entries()) {
          const c = await caption(model, image, { beams: opts.beams, maxLength: opts.maxLength, minLength: opts.minLength, prompt: opts.prompt });
          bar.update(i + 1, images.length);
          out(`${image}: ${c.text}  (vision ${(c.visionSeconds * 1e3).toFixed(0)} ms, text ${(c.textSeconds * 1e3).toFixed(0)} ms)\n`);
        }
      } finally {
        bar.stop();
        model.dispose();
      }
    });

  generationOptions(
    program.command('answer').description('answer a question about an image').argument('<MODEL_DIR>').argument('<IMAGE>').argument('<QUESTION>'),
  )
    .addOption(backendOption())
    .action(async (dir: string, image: string, question: string, opts) => {
      const model = await open(dir, 'vqa', opts.backend);
      try {
        const a = await answer(model, image, question, { beams: opts.beams, maxLength: opts.maxLength, minLength: opts.minLength });
        out(`${a.text}\n`);
      } finally {
        model.dispose();
      }
    });

  program
    .command('retrieve')
    .description('rank texts for each image (ITC, then ITM re-ranking of the top k)')
    .argument('<MODEL_DIR>')
    .requiredOption('--images <files...>', 'image files')
    .requiredOption('--texts <texts...>', 'candidate texts')
    .option('--k <n>', 'texts re-ranked by ITM per image', atLeastOne('--k', 10_000), 16)
    .addOption(backendOption())
    .action(async (dir: string, opts) => {
      const model = await open(dir, 'retrieval', opts.backend);
      try {
        const bar = progressBar('ranking', 'images', 1);
        const ranked = await retrieve(model, opts.images, opts.texts, { k: opts.k, onImage: (d, t) => bar.update(d, t) }).finally(() => bar.stop());
        ranked.forEach((list, i) => {
          out(`${opts.images[i]}\n`);
          for (const r of list) out(`  ${r.itm.toFixed(4)}  (itc ${r.itc.toFixed(4)})  ${opts.texts[r.text]}\n`);
        });
      } finally {
        model.dispose();
      }
    });
  return program;
}

/** The score and merge arithmetic, when not the defaults (Turbo's score, the size-weighted mean). */
function describeVariant(v: { score?: string; merge?: string; tau?: { sim: number; info: number; size: number } }): string {
  const parts = [v.score && v.score !== 'turbo' ? `score=${v.score}` : '', v.merge && v.merge !== 'mean' ? `merge=${v.merge}` : '', v.tau ? `tau=${v.tau.sim},${v.tau.info},${v.tau.size}` : ''].filter(Boolean);
  return parts.length ? `; ${parts.join(' ')}` : '';
}

async function open(dir: string, task: BlipTask, backend?: BackendName) {
  await useBackend(backend);
  process.stderr.write(`backend: ${describeBackend()}\n`);
  return loadBlip(dir, task);
}

if (require.main === module) runCli(buildProgram());
