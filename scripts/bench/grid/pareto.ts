// eval-grid --pareto: top-1 against measured speed-up for the merging methods and for the tuner's
// picks, on one held-out split of a labelled folder. The photos are split once (seeded): the tuner
// sees only the calibration part, and every row, tuned or not, is scored on the held-out rest, so
// the tuned and the fixed-schedule rows are compared on the same images the tuner never saw.
//
// Speed-ups are measured on the scoring backend (tensorflow when tfjs-node is installed, the
// session route), each model interleaved with the unmerged one at one batch size, the median over
// the pairs (src/runtime/timing.ts).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { rewriteGraph } from '../../../src/convert';
import { readGraphModel } from '../../../src/graph/model_io';
import { readPreprocessing } from '../../../src/image/preprocess';
import { registerTurboOps } from '../../../src/ops/register';
import { describeBackend, useBackend } from '../../../src/runtime/backend';
import { DEFAULT_TURBO_OPTIONS } from '../../../src/turbo/options';
import { estimateFlopRatio, parseRSchedule, tokenCounts } from '../../../src/turbo/schedule';
import { planModel } from '../../../src/convert';
import { readCalibrationSet } from '../../../src/tune/calibration';
import { cloneGraph, disposeRowSet, loadGraph, logitsOn, pairedSpeedup, rowSet } from '../../../src/tune/scorer';
import { MERGE_VARIANTS, mergesAtBlockEnd, variantNamed } from '../../../src/tune/space';
import { splitHalves, tuneTurbo } from '../../../src/tune/tune';
import { replaceSection } from '../../markdown';
import { gitState, machineLine } from '../machine';
import { renderPlot } from './plot';
import { ProgramIo } from './render';

export interface ParetoOptions {
  model: string;
  r: number[];
  alpha: number[];
  targets: number[];
  calibration: number;
  seed: number;
  batch: number;
  pairs: number;
  maxEvals: number;
  timeLimit?: number;
  out: string;
  plot: string | false;
  docs: string | false;
}

export interface ParetoRow {
  method: string;
  /** 'fixed' rows: constant r; 'tuned': the tuner's pick for a FLOP target. */
  kind: 'unmerged' | 'fixed' | 'tuned';
  r: number[];
  alpha: number | null;
  variant: string;
  flops: number;
  top1: number;
  delta: number;
  agreement: number;
  /** Median over the interleaved pairs of unmerged ÷ merged wall time. */
  speedup: number;
  /** The same for this process's CPU time (all threads): what merging saves in work, less sensitive to other jobs' load than wall time. */
  cpuSpeedup: number;
  pareto?: boolean;
  tuned?: { targetFlops: number; seconds: number; candidates: number; stopped?: string; shape: string; confirmAgreement: number };
}

export interface ParetoResult {
  tool: string;
  date: string;
  command: string;
  images: { dir: string; count: number; calibration: number; heldOut: number; seed: number };
  backend: string;
  batch: number;
  pairs: number;
  machine: string;
  code: string;
  loadAverage: { start: number[]; end: number[] };
  wallSeconds: number;
  rows: ParetoRow[];
}

export const PARETO_PLOT = 'pareto.svg';

const methodName = (alpha: number, variant: string) => {
  const v = variantNamed(variant);
  if (!v.usesAlpha) return variant;
  const base = alpha === 0 ? 'ToMe (alpha 0)' : `Turbo alpha ${alpha}`;
  return variant === 'turbo' ? base : `${base}, ${variant.replace(/^turbo, /, '')}`;
};

/** The alpha a non-default variant is shown at: Turbo's best at medium merging (docs/BENCHMARKS.md, eval-grid). */
const VARIANT_ALPHA = 1;

export async function runPareto(imagesDir: string, opts: ParetoOptions, io: ProgramIo): Promise<ParetoResult> {
  const started = Date.now();
  const loadStart = os.loadavg();
  registerTurboOps();
  await useBackend();
  const backend = describeBackend();
  const prep = await readPreprocessing(opts.model);
  io.err(`decoding ${imagesDir}\n`);
  const all = await readCalibrationSet(imagesDir, prep);
  const n = all.inputs.shape[0];
  if (!all.labels || all.labels.some((l) => l === undefined)) throw new Error(`${imagesDir}: every image needs a label in labels.csv`);
  const labels = all.labels as number[];
  // One seeded shuffle: the first `calibration` photos are the tuner's, the rest are held out.
  const [a, b] = splitHalves(n, opts.seed + 1000);
  const order = [...a, ...b];
  const calib = order.slice(0, opts.calibration).sort((p, q) => p - q);
  const held = order.slice(opts.calibration).sort((p, q) => p - q);
  const heldSet = rowSet('held', all.inputs, held);
  const heldLabels = held.map((i) => labels[i]);
  const source = path.join(opts.model, 'model.json');
  const graph = await readGraphModel(opts.model);
  const plan = planModel(cloneGraph(graph), { r: 0, rThreshold: 0 }, source);
  // MCTF merges at the block end: its rows are counted as the tuner fits them (src/tune/space.ts).
  const flopsOf = (r: number[], variant: string) =>
    estimateFlopRatio(plan.tokenCount, tokenCounts(plan.tokenCount, r, plan.protectedTokens, 0), plan.dims, mergesAtBlockEnd(variantNamed(variant)));
  const x = tf.gather(all.inputs, tf.range(0, Math.min(opts.batch, n), 1, 'int32')) as tf.Tensor4D;

  const base = await loadGraph(cloneGraph(graph), source);
  const rows: ParetoRow[] = [];
  try {
    const ref = await logitsOn(base, heldSet);
    const refTop = argmaxRows(ref.data, ref.classes);
    const unmergedTop1 = top1(refTop, heldLabels);
    rows.push({ method: 'unmerged', kind: 'unmerged', r: [], alpha: null, variant: 'turbo', flops: 1, top1: unmergedTop1, delta: 0, agreement: 1, speedup: 1, cpuSpeedup: 1 });
    io.err(`unmerged: top-1 ${pct(unmergedTop1)} on ${held.length} held-out photos\n`);

    const measure = async (r: number[], alpha: number, variant: string): Promise<Omit<ParetoRow, 'method' | 'kind'>> => {
      const g = cloneGraph(graph);
      rewriteGraph(g, { ...DEFAULT_TURBO_OPTIONS, ...variantNamed(variant).options, r, alpha }, source);
      const m = await loadGraph(g, source);
      try {
        const out = await logitsOn(m, heldSet);
        const top = argmaxRows(out.data, out.classes);
        const t1 = top1(top, heldLabels);
        return { r, alpha, variant, flops: flopsOf(r, variant), top1: t1, delta: t1 - unmergedTop1, agreement: top.filter((c, i) => c === refTop[i]).length / top.length, ...(await pairedSpeedup(base, m, x, opts.pairs)) };
      } finally {
        m.model.dispose();
      }
    };

    for (const variant of MERGE_VARIANTS) {
      for (const alpha of variant.name === 'turbo' ? opts.alpha : [VARIANT_ALPHA]) {
        for (const r of opts.r) {
          const row = { method: methodName(alpha, variant.name), kind: 'fixed' as const, ...(await measure(parseRSchedule(r, plan.blocks.length), alpha, variant.name)) };
          rows.push(row);
          io.err(`${row.method} r=${r}: top-1 ${pct(row.top1)} (${signed(row.delta)}), FLOP ratio ${row.flops.toFixed(2)}, measured ${row.speedup.toFixed(2)}x (CPU time ${row.cpuSpeedup.toFixed(2)}x)\n`);
        }
      }
    }

    const calibX = tf.gather(all.inputs, tf.tensor1d(calib, 'int32')) as tf.Tensor4D;
    try {
      for (const target of opts.targets) {
        const result = await tuneTurbo(opts.model, { inputs: calibX, labels: calib.map((i) => labels[i]), names: calib.map((i) => all.names[i]) }, {
          targetFlops: target,
          maxEvals: opts.maxEvals,
          timeLimitSeconds: opts.timeLimit,
          seed: opts.seed,
        });
        const c = result.chosen;
        const row: ParetoRow = {
          method: `tuned, FLOP ${target}`,
          kind: 'tuned',
          ...(await measure(c.schedule, c.alpha, c.variant)),
          tuned: { targetFlops: target, seconds: result.seconds, candidates: result.log.length, stopped: result.stopped, shape: c.shape, confirmAgreement: result.confirm.top1 },
        };
        rows.push(row);
        io.err(`tuned for FLOP ${target} in ${result.seconds.toFixed(0)} s (${result.log.length} candidates): r ${c.schedule.join(',')} alpha ${c.alpha}: top-1 ${pct(row.top1)} (${signed(row.delta)}), FLOP ratio ${row.flops.toFixed(2)}, measured ${row.speedup.toFixed(2)}x\n`);
      }
    } finally {
      calibX.dispose();
    }
  } finally {
    base.model.dispose();
    disposeRowSet(heldSet);
    tf.dispose([x, all.inputs]);
  }
  markPareto(rows);
  const result: ParetoResult = {
    tool: 'scripts/eval-grid.ts --pareto',
    date: new Date().toISOString(),
    command: commandLine(imagesDir, opts),
    images: { dir: path.basename(imagesDir), count: n, calibration: calib.length, heldOut: held.length, seed: opts.seed },
    backend,
    batch: opts.batch,
    pairs: opts.pairs,
    machine: machineLine(),
    code: gitState(),
    loadAverage: { start: loadStart, end: os.loadavg() },
    wallSeconds: (Date.now() - started) / 1000,
    rows,
  };
  fs.mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
  fs.writeFileSync(opts.out, `${JSON.stringify(result, null, 1)}\n`);
  io.err(`wrote ${opts.out}\n`);
  await publishPareto(result, opts, io);
  return result;
}

/** Plot and markdown from a result (also for --from). */
export async function publishPareto(result: ParetoResult, opts: Pick<ParetoOptions, 'out' | 'plot' | 'docs'>, io: ProgramIo): Promise<void> {
  markPareto(result.rows);
  const plotFile = opts.plot === false ? undefined : opts.plot || path.join(path.dirname(path.resolve(opts.out)), PARETO_PLOT);
  if (plotFile) {
    fs.writeFileSync(plotFile, await renderPlot(paretoSpec(result) as never));
    io.err(`wrote ${plotFile}\n`);
  }
  if (opts.docs) {
    replaceSection(opts.docs, 'pareto', paretoMarkdown(result, plotFile ? path.relative(path.dirname(path.resolve(opts.docs)), plotFile) : undefined));
    io.err(`updated the pareto section of ${opts.docs}\n`);
  }
}

/**
 * A row is on the Pareto front when no other row is at least as fast and at least as accurate, and
 * better in one. Speed here is the CPU-time speed-up: on a machine shared with other jobs the wall
 * ratios of one configuration swing by 2x between runs, the CPU-time ones by a few percent.
 */
export function markPareto(rows: ParetoRow[]): void {
  for (const r of rows) {
    r.pareto = !rows.some((o) => o !== r && o.cpuSpeedup >= r.cpuSpeedup && o.top1 >= r.top1 && (o.cpuSpeedup > r.cpuSpeedup || o.top1 > r.top1));
  }
}

export function paretoMarkdown(res: ParetoResult, plot?: string): string {
  const unmerged = res.rows.find((r) => r.kind === 'unmerged')!;
  const sorted = [...res.rows].sort((a, b) => a.cpuSpeedup - b.cpuSpeedup);
  const sched = (r: ParetoRow) => (r.kind === 'unmerged' ? '–' : new Set(r.r).size === 1 ? `${r.r[0]} (every block)` : r.r.join(','));
  const lines = [
    `## Top-1 vs measured speed-up: ToMe, Turbo and the tuner (generated)`,
    '',
    `Generated by \`${res.command}\` on ${res.date.slice(0, 16).replace('T', ' ')} UTC in ${(res.wallSeconds / 60).toFixed(0)} min. ${res.images.count} labelled photos (${res.images.dir}), split once (seed ${res.images.seed}): **the tuner saw ${res.images.calibration} of them; every row below is top-1 on the other ${res.images.heldOut}**, which no row was tuned on. Scoring and timing on ${res.backend}; speed-up: median over ${res.pairs} interleaved pairs with the unmerged model at batch ${res.batch}, of wall time and of this process's CPU time; rows are ordered, and the Pareto front taken, by the CPU-time speed-up, which other jobs on the machine disturb far less than the wall one. Machine: ${res.machine}, load average ${res.loadAverage.start.map((l) => l.toFixed(1)).join(' / ')} at the start and ${res.loadAverage.end.map((l) => l.toFixed(1)).join(' / ')} at the end (other jobs were running). Code: ${res.code}. One photo is ${(100 / res.images.heldOut).toFixed(2)} points.`,
    '',
    ...(plot ? [`![top-1 vs measured speed-up](${plot})`, ''] : []),
    `Unmerged: ${pct(unmerged.top1)} top-1 on the held-out photos. Tuned rows: \`tuneTurbo\` with \`targetFlops\` on the ${res.images.calibration} calibration photos (the CLI's \`--target-flops X --calibrate\`); Δ is against the unmerged model on the same photos; ★: on the Pareto front (no row both faster and more accurate).`,
    '',
    '| method | r per block | alpha | FLOP ratio | measured speed-up (wall) | (CPU time) | top-1 (held-out) | Δ top-1 | agreement | tuning |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...sorted.map(
      (r) =>
        `| ${r.pareto ? '★ ' : ''}${r.method}${r.kind === 'tuned' && r.variant !== 'turbo' ? ` (${r.variant})` : ''} | ${sched(r)} | ${r.alpha === null || !variantNamed(r.variant).usesAlpha ? '–' : r.alpha} | ${r.flops.toFixed(2)} | ${r.speedup.toFixed(2)}x | ${r.cpuSpeedup.toFixed(2)}x | ${pct(r.top1)} | ${r.kind === 'unmerged' ? '' : signed(r.delta)} | ${pct(r.agreement)} | ${
          r.tuned ? `${r.tuned.shape}; ${r.tuned.candidates} candidates, ${r.tuned.seconds.toFixed(0)} s${r.tuned.stopped ? ` (${r.tuned.stopped})` : ''}` : ''
        } |`,
    ),
  ];
  return lines.join('\n');
}

/** vega-lite: one line per fixed method over r, the tuner's picks as labelled points, the unmerged model as a diamond. */
export function paretoSpec(res: ParetoResult): object {
  const fixed = res.rows.filter((r) => r.kind === 'fixed');
  const tuned = res.rows.filter((r) => r.kind === 'tuned');
  const unmerged = res.rows.find((r) => r.kind === 'unmerged')!;
  const methods = [...new Set(fixed.map((r) => r.method))];
  const point = (r: ParetoRow) => ({ method: r.method, top1: 100 * r.top1, speedup: r.cpuSpeedup, label: r.kind === 'tuned' ? `FLOP ${r.tuned!.targetFlops}` : `r ${r.r[0]}` });
  const x = { field: 'speedup', type: 'quantitative', title: `measured speed-up, CPU time (${res.backend.split(' ')[0]}, batch ${res.batch})`, scale: { zero: false, nice: false, padding: 18 } };
  const y = { field: 'top1', type: 'quantitative', title: `top-1 on ${res.images.heldOut} held-out photos (%)`, scale: { zero: false, padding: 14 } };
  const palette = ['#666666', '#f46d43', '#a50026', '#4575b4', '#74add1', '#fdae61'];
  const domain = [...methods, 'tuner'];
  const color = { field: 'method', type: 'nominal', title: 'merging', scale: { domain, range: domain.map((m, i) => (m === 'tuner' ? '#1a9850' : palette[i % palette.length])) } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Top-1 vs measured speed-up, ${res.images.heldOut} held-out photos (tuner saw the other ${res.images.calibration})`, fontSize: 12 },
    width: 560,
    height: 360,
    background: 'white',
    config: { axis: { grid: true, gridOpacity: 0.5 }, legend: { labelFontSize: 10, titleFontSize: 10 } },
    layer: [
      { data: { values: methods.flatMap((m) => [point(unmerged), ...fixed.filter((r) => r.method === m).map(point)].map((p) => ({ ...p, method: m }))) }, mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color, order: { field: 'speedup', type: 'quantitative' } } },
      { data: { values: fixed.map(point) }, mark: { type: 'point', filled: true, size: 45 }, encoding: { x, y, color } },
      {
        data: { values: tuned.map((r) => ({ ...point(r), method: 'tuner' })) },
        layer: [
          { mark: { type: 'point', shape: 'triangle-up', filled: true, size: 110 }, encoding: { x, y, color } },
          { mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 10 }, encoding: { x, y, text: { field: 'label' } } },
        ],
      },
      {
        data: { values: [point(unmerged)] },
        layer: [
          { mark: { type: 'point', shape: 'diamond', size: 130, filled: true, color: 'black' }, encoding: { x, y } },
          { mark: { type: 'text', align: 'left', dx: 8, dy: -10, fontSize: 10 }, encoding: { x, y, text: { value: `unmerged ${pct(unmerged.top1)}` } } },
        ],
      },
    ],
  };
}

function argmaxRows(data: Float32Array, classes: number): number[] {
  const out: number[] = [];
  for (let at = 0; at < data.length; at += classes) {
    let best = at;
    for (let i = at + 1; i < at + classes; i++) if (data[i] > data[best]) best = i;
    out.push(best - at);
  }
  return out;
}

const top1 = (pred: number[], labels: number[]) => pred.filter((p, i) => p === labels[i]).length / pred.length;
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const signed = (d: number) => `${d >= 0 ? '+' : '−'}${Math.abs(100 * d).toFixed(1)}`;

function commandLine(imagesDir: string, o: ParetoOptions): string {
  return [
    'npm run eval -- --pareto',
    path.relative(process.cwd(), imagesDir) || '.',
    `--r ${o.r.join(',')}`,
    `--alpha ${o.alpha.join(',')}`,
    `--targets ${o.targets.join(',')}`,
    `--calibration ${o.calibration}`,
    o.seed !== 1 ? `--seed ${o.seed}` : '',
    o.timeLimit !== undefined ? `--time-limit ${o.timeLimit}` : '',
    `--max-evals ${o.maxEvals}`,
    o.batch !== 8 ? `--batch ${o.batch}` : '',
    o.pairs !== 12 ? `--pairs ${o.pairs}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

