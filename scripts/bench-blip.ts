// BLIP with Turbo, measured: the vision encoder alone (unmerged vs Turbo, batch 1) and caption
// generation per image split into the vision side and the text side (unmerged; vision Turbo only;
// vision Turbo + text-side dropping). Every comparison is one interleaved run (src/runtime/timing.ts)
// per backend, CPU time and wall clock; the FLOP ratio comes from the schedule.
//
//   .venv/bin/python converters/python/export_blip_bench.py /tmp/blip-full   (once; ~1 GB)
//   node dist/scripts/bench-blip.js BLIP_DIR [--backends wasm,tensorflow] [--rounds 5] [--caption-rounds 2] [--variants unmerged,vision,all]
//
// BLIP_DIR: a BLIP model directory with weights (converters/python/export_blip_bench.py writes the
// full-size random-weight one). Results: docs/BENCHMARKS.md (sections bench-blip-<backend>, --write).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { caption } from '../src/blip/caption';
import { BLIP_VISION_DEFAULTS, convertBlipWithTurbo } from '../src/blip/convert';
import { loadBlip } from '../src/blip/load';
import { BlipModel } from '../src/blip/model';
import { encodeImages } from '../src/blip/vision';
import { readGraphModel } from '../src/graph/model_io';
import { BackendName, describeBackend, useBackend } from '../src/runtime/backend';
import { interleave, median, timedHere, Times } from '../src/runtime/timing';
import { estimateFlopRatio, tokenCounts } from '../src/turbo/schedule';
import { machineLine, gitState } from './bench/machine';
import { replaceSection } from './markdown';
import { mulberry32 } from '../src/rng';

interface Row {
  what: string;
  ms: { wall: number; cpu: number };
  speedup?: { wall: number; cpu: number };
}

const med = (t: Times) => ({ wall: median(t.wall), cpu: median(t.cpu) });
const ratio = (a: { wall: number; cpu: number }, b: { wall: number; cpu: number }) => ({ wall: a.wall / b.wall, cpu: a.cpu / b.cpu });

async function visionTokens(dir: string): Promise<{ n0: number; hidden: number; mlp: number; blocks: number; describe: string }> {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const v = cfg.vision;
  const t = cfg.text;
  const n0 = (v.image_size / v.patch_size) ** 2 + 1;
  const describe =
    `vision ViT (hidden ${v.hidden_size}, ${v.num_hidden_layers} blocks, patch ${v.patch_size}) at ${v.image_size} px (${n0} tokens); ` +
    `text decoder BERT (hidden ${t.hidden_size}, ${t.num_hidden_layers} layers, vocabulary ${t.vocab_size}) with cross-attention to the image tokens`;
  return { n0, hidden: v.hidden_size, mlp: v.intermediate_size, blocks: v.num_hidden_layers, describe };
}

/** Normalised pixels in [-2, 2), seeded: random weights make the content irrelevant, only the size counts. */
function randomImage(size: number): Float32Array {
  const next = mulberry32(1);
  return Float32Array.from({ length: 3 * size * size }, () => next() * 4 - 2);
}

async function main(): Promise<void> {
  const program = new Command('bench-blip')
    .argument('<BLIP_DIR>', 'BLIP model directory with weights (caption task)')
    .option('--backends <list>', 'comma-separated', 'wasm,tensorflow')
    .option('--rounds <n>', 'timed rounds for the vision encoder', (v) => Number(v), 5)
    .option('--caption-rounds <n>', 'timed rounds for captioning', (v) => Number(v), 2)
    .option('--max-length <n>', 'caption length in tokens ([DEC] included; the end token is masked until then)', (v) => Number(v), 20)
    .option('--variants <list>', 'caption variants loaded together: unmerged, vision (vision Turbo), all (vision Turbo + text drop)', 'unmerged,vision,all')
    .option('--write', 'write docs/BENCHMARKS.md (sections bench-blip-<backend>)')
    .parse(process.argv);
  const [dir] = program.args;
  const o = program.opts();
  const turboDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-blip-'));
  const written: string[] = [];
  try {
    const visionTurbo = path.join(turboDir, 'vision');
    const allTurbo = path.join(turboDir, 'all');
    const settings = BLIP_VISION_DEFAULTS.caption;
    log(`converting ${dir} (caption: r=${settings.r} alpha=${settings.alpha} r_threshold=${settings.rThreshold})`);
    await convertBlipWithTurbo(dir, visionTurbo, { tasks: ['caption'], text: false });
    await convertBlipWithTurbo(dir, allTurbo, { tasks: ['caption'] });
    const shape = await visionTokens(dir);
    const counts = tokenCounts(shape.n0, new Array(shape.blocks).fill(settings.r), 1, settings.rThreshold!);
    const flopRatio = estimateFlopRatio(shape.n0, counts, { hidden: shape.hidden, mlp: shape.mlp });
    log(`tokens ${shape.n0} -> ${counts.join(', ')}; vision FLOP ratio ${flopRatio.toFixed(3)}`);
    const dropNodes = (await readGraphModel(path.join(allTurbo, 'caption', 'decoder'))).nodes.filter((n) => n.op === 'TurboDropTokens').length;

    for (const backend of (o.backends as string).split(',') as BackendName[]) {
      await useBackend(backend);
      log(`backend ${describeBackend()}`);
      // Vision encoders only (the decoders are the bulk of the weights; wasm's heap is 4 GB).
      const visionOf = async (d: string): Promise<BlipModel> => {
        const m = await loadBlip(d, 'caption');
        m.graphs.decoder.dispose();
        return m;
      };
      const vOnly = [await visionOf(dir), await visionOf(visionTurbo)];
      const image = randomImage(vOnly[0].config.image.size);
      const encode = (m: BlipModel) => async () => {
        const [e] = await encodeImages(m, [image]);
        await e.data();
        e.dispose();
      };
      const vision = await interleave([timedHere('unmerged', encode(vOnly[0])), timedHere('Turbo', encode(vOnly[1]))], {
        rounds: o.rounds,
        onRun: (l) => log(`  vision ${l}`),
      });
      vOnly.forEach((m) => m.graphs.vision.dispose());
      const [vOrig, vTurbo] = vision.times.map(med);
      const visionRows: Row[] = [
        { what: 'vision encoder, unmerged', ms: vOrig },
        { what: `vision encoder, Turbo r=${settings.r} alpha=${settings.alpha} r_threshold=${settings.rThreshold}`, ms: vTurbo, speedup: ratio(vOrig, vTurbo) },
      ];

      const variantDirs: Record<string, [string, string]> = {
        unmerged: ['unmerged', dir],
        vision: ['vision Turbo', visionTurbo],
        all: ['vision Turbo + text drop', allTurbo],
      };
      const models: Record<string, BlipModel> = {};
      for (const v of (o.variants as string).split(',')) {
        if (!(v in variantDirs)) throw new Error(`--variants: unknown '${v}' (unmerged, vision, all)`);
        models[variantDirs[v][0]] = await loadBlip(variantDirs[v][1], 'caption');
      }
      const split: Record<string, { vision: number[]; text: number[] }> = {};
      const runners = Object.entries(models).map(([label, m]) => {
        split[label] = { vision: [], text: [] };
        return timedHere(label, async ({ warmup }) => {
          const c = await caption(m, image, { maxLength: o.maxLength, minLength: o.maxLength });
          if (!warmup) {
            split[label].vision.push(c.visionSeconds * 1e3);
            split[label].text.push(c.textSeconds * 1e3);
          }
        });
      });
      const cap = await interleave(runners, { rounds: o.captionRounds, onRun: (l) => log(`  caption ${l}`) });
      const capMs = cap.times.map(med);
      const captionRows = Object.keys(models).map((label, i) => ({
        label,
        total: capMs[i],
        vision: median(split[label].vision),
        text: median(split[label].text),
      }));
      Object.values(models).forEach((m) => m.dispose());
      const body = [
        `## BLIP with Turbo on ${backend}: vision encoder and captioning`,
        '',
        `Run: \`node dist/scripts/bench-blip.js ${dir} --backends ${backend} --rounds ${o.rounds} --caption-rounds ${o.captionRounds} --max-length ${o.maxLength} --variants ${o.variants}\``,
        `(${new Date().toISOString().slice(0, 10)}, ${gitState()}). Machine: ${machineLine()}.`,
        '',
        `Model: BLIP captioning with random weights (converters/python/export_blip_bench.py): ${shape.describe}; batch 1. Vision Turbo: ${counts.length} blocks, tokens ${shape.n0} → ${counts.join(' → ')}, FLOP ratio ${flopRatio.toFixed(3)}. Text drop: drop_rate 0.07, drop_max 0.8 after ${dropNodes} of the decoder's cross-attention layers (every one but the last). Captions are forced to ${o.maxLength} tokens (end token masked) so every variant decodes the same number of steps; the decoder re-runs the whole prefix each step (no cache). Times are medians; speed-ups are ratios from one interleaved run.`,
        '',
        renderBackend(describeBackend(), visionRows, flopRatio, captionRows, o.maxLength),
      ].join('\n');
      if (o.write) {
        // One section per backend and set of variants, so runs with different variants (wasm) sit side by side.
        const section = o.variants === 'unmerged,vision,all' ? `bench-blip-${backend}` : `bench-blip-${backend}-${(o.variants as string).replace(/,/g, '-')}`;
        replaceSection(path.join(__dirname, '..', '..', 'docs', 'BENCHMARKS.md'), section, body);
        written.push(section);
      }
      process.stdout.write(`${body}\n`);

    }
  } finally {
    // Two converted full-size copies: several GB in the temp directory.
    fs.rmSync(turboDir, { recursive: true, force: true });
  }
  if (written.length) log(`wrote docs/BENCHMARKS.md sections ${written.join(', ')}`);
}

function renderBackend(backend: string, vision: Row[], flopRatio: number, captions: { label: string; total: { wall: number; cpu: number }; vision: number; text: number }[], maxLength: number): string {
  const f = (x: number) => x.toFixed(0);
  const x = (v: number) => `${v.toFixed(2)}x`;
  const turbo = vision[1].speedup!;
  const lines = [
    `### ${backend}`,
    '',
    '| vision encoder, batch 1 | wall ms | CPU ms | speed-up (wall / CPU) | share of the FLOP ratio (CPU) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...vision.map((r) => `| ${r.what} | ${f(r.ms.wall)} | ${f(r.ms.cpu)} | ${r.speedup ? `${x(r.speedup.wall)} / ${x(r.speedup.cpu)}` : ''} | ${r.speedup ? `${((turbo.cpu / flopRatio) * 100).toFixed(0)} % of ${flopRatio.toFixed(2)}` : ''} |`),
    '',
    `| caption (${maxLength} tokens), per image | vision ms | text ms | total wall ms | total speed-up (wall) |`,
    '| --- | ---: | ---: | ---: | ---: |',
    ...captions.map((c) => `| ${c.label} | ${f(c.vision)} | ${f(c.text)} | ${f(c.total.wall)} | ${x(captions[0].total.wall / c.total.wall)} |`),
    '',
  ];
  return lines.join('\n');
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench-blip: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
