// tuneTurbo: choose the merge schedule, alpha and merge variant that keep a model closest to its
// unmerged self at a FLOP or speed target.
//
// The calibration images are split into search rows and confirmation rows (never searched on). The
// search runs on the fastest installed backend and in stages, each candidate at the least merging
// that reaches the target (merging more than needed only costs accuracy):
//   1. the named schedule shapes (src/tune/schedules.ts) at one alpha, then the alphas and merge
//      variants (src/tune/space.ts) on the best shapes, on a screening subset of the search rows;
//   2. with `perBlock` only, a greedy per-block search from the best of those: one block's share of
//      the merging up or down, the level refitted to the target, kept when the screening score
//      improves (DiffRate's offline per-layer search in spirit). Off by default: judged on the
//      screening rows, its moves lost accuracy on held-out images (docs/ACCURACY.md);
//   3. the best few on the rest of the search rows; the best of them is the choice, reported on the
//      confirmation rows.
// The score is the KL divergence of the candidate's softmax from the unmerged model's (no labels
// needed; it moves before the top-1 does, so it separates candidates that a few hundred images would
// call equal); top-1 agreement and, with labels, accuracy are reported beside it.
// For a speed target only the choice is timed, on the backend that will run the model (interleaved
// with the unmerged model); the search itself is for a FLOP ratio, corrected by the measured
// FLOP-to-speed efficiency when the measurement misses it.

import * as crypto from 'crypto';
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'path';
import { planModel, rewriteGraph } from '../convert';
import { OptionsError } from '../errors';
import { Graph } from '../graph/ir';
import { readGraphModel } from '../graph/model_io';
import { registerTurboOps } from '../ops/register';
import { RewriteOptions } from '../rewrite/pass';
import { BackendName, defaultBackend, restoringBackend, useBackend } from '../runtime/backend';
import { mulberry32 as rng } from '../rng';
import { CalibrationSet } from './calibration';
import { ALPHAS, Candidate, ModelShape, SEARCHED_SHAPE, SHAPES, Shape, candidates, fitWeights, flopRatio, keepingFree, weightsOf } from './schedules';
import { Agreement, agreement } from './score';
import { Loaded, LogitCache, RowSet, checkFinite, checkInputShape, cloneGraph, disposeRowSet, loadGraph, logitsOn, pairedSpeedup, rowSet } from './scorer';
import { MERGE_VARIANTS, MergeVariant, shapeFor, variantNamed } from './space';

export interface TuneOptions {
  /** Reach this FLOP ratio (backend-free, deterministic). */
  targetFlops?: number;
  /** Reach this measured speed-up on `backend`. */
  targetSpeedup?: number;
  /** Candidates scored at most in the search (default 48). */
  maxEvals?: number;
  /**
   * Start no new candidate once the best so far could no longer be completed on the other search
   * rows and confirmed within this many seconds (estimated from the screenings); then finish with
   * it (and, for a speed target, time it once).
   */
  timeLimitSeconds?: number;
  /** Seeds the search/confirm split and the order of the per-block moves (default 1). */
  seed?: number;
  /** Where speed is measured (default: the scoring backend). */
  backend?: BackendName;
  /** Where candidates are scored (default: the fastest installed, tensorflow when tfjs-node is). */
  scoreBackend?: BackendName;
  /** Batch size of the speed measurement (default 8). */
  speedBatch?: number;
  /** Timed pairs per speed measurement (default 7). */
  speedPairs?: number;
  /** The chosen model must measure at least target × (1 + margin), so a fresh measurement still reaches the target (default 0.03). */
  speedMargin?: number;
  /** Share of the images kept for confirmation (default 0.3). */
  confirmShare?: number;
  /** Search rows every candidate is screened on (default 64); the finalists get the rest. */
  screenImages?: number;
  /**
   * How the screening rows are drawn from the search rows: 'random' (seeded, the default) or
   * 'stratified', evenly over the unmerged model's confidence (its top softmax probability), so
   * confident and borderline images are screened in their proportions.
   */
  screenSampling?: 'random' | 'stratified';
  /** Candidates completed on all search rows (default 2). */
  finalists?: number;
  /** Alphas tried (default ALPHAS). */
  alphas?: readonly number[];
  /** Named schedule shapes the search starts from (default SHAPES). */
  shapes?: readonly Shape[];
  /** Merge variants tried (default MERGE_VARIANTS). */
  variants?: readonly MergeVariant[];
  /** Blocks at the start that never merge, in every shape and per-block move (default 0). */
  freeBlocks?: number;
  /**
   * Run the greedy per-block search (stage 2; default off). On the held-out split of
   * docs/ACCURACY.md its moves, judged on the screening photos, lost held-out top-1: without it the
   * picks lost 2.7 points at FLOP 2.0 and gained 0.7 at FLOP 1.5, with it 2.0 to 4.7 and 1.0 to 1.3.
   */
  perBlock?: boolean;
  architecture?: string;
  /** Settings the tuner keeps fixed (beta, gamma, rThreshold, propAttn, portable): candidates are scored as they will be written. */
  fixed?: Partial<Omit<RewriteOptions, 'r' | 'alpha' | 'architecture'>>;
  onProgress?: (p: TuneProgress) => void;
}

export interface TuneProgress {
  done: number;
  total: number;
  stage: string;
  best?: ScoredCandidate;
}

export interface ScoredCandidate extends Candidate {
  /** On the screening rows. */
  screen: Agreement;
  /** On all search rows (finalists and the chosen one). */
  search?: Agreement;
  /** Measured speed-up over the unmerged model (targetSpeedup only). */
  speedup?: number;
  /** Which stage proposed it. */
  stage: string;
}

export interface TuneResult {
  chosen: ScoredCandidate & { search: Agreement };
  /** The chosen candidate on the images the search did not use. */
  confirm: Agreement;
  /** The unmerged model's accuracy on the search and confirmation rows, when labels exist. */
  baseline: { search?: number; confirm?: number };
  /** FLOP ratio the candidates were built for (for targetSpeedup: corrected by measured efficiency). */
  flopTarget: number;
  /** Measured speed-up ÷ FLOP ratio of the first timed candidate (targetSpeedup only). */
  efficiency?: number;
  log: ScoredCandidate[];
  searchImages: string[];
  confirmImages: string[];
  /** Where the time went, in seconds. */
  timing: { reference: number; search: number; speed: number; loads: number };
  scoreBackend: BackendName;
  speedBackend?: BackendName;
  /** Why the search stopped early, when it did. */
  stopped?: string;
  seconds: number;
}

/**
 * Screening rows by default. Larger or stratified screening sets were tried on the held-out split
 * of docs/ACCURACY.md (tuned on 200 photos, top-1 on 300): none changed the picks' held-out top-1
 * by more than the run-to-run spread of the same settings (2 points at FLOP 2.0), and every extra
 * photo costs candidates within the time limit.
 */
export const DEFAULT_SCREEN_IMAGES = 64;

/** A seeded split of 0..n−1: `confirmShare` of the rows (at least one) for confirmation, the rest to search. */
export function splitRows(n: number, seed: number, confirmShare = 0.3): [number[], number[]] {
  const order = Array.from({ length: n }, (_, i) => i);
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const confirm = Math.min(n - 1, Math.max(1, Math.round(n * confirmShare)));
  return [order.slice(confirm).sort((a, b) => a - b), order.slice(0, confirm).sort((a, b) => a - b)];
}

/** A seeded split of 0..n−1 into two halves (the first gets the extra row). */
export function splitHalves(n: number, seed: number): [number[], number[]] {
  const order = Array.from({ length: n }, (_, i) => i);
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const cut = Math.ceil(n / 2);
  return [order.slice(0, cut).sort((a, b) => a - b), order.slice(cut).sort((a, b) => a - b)];
}


/** What errors about the model name: its model.json when read from disk. */
function modelSource(model: string | Graph): string {
  if (typeof model !== 'string') return 'model.json';
  return model.endsWith('.json') ? model : path.join(model, 'model.json');
}

/** The candidate alone, without the scores of the one it was derived from. */
const bare = (c: Candidate): Candidate => ({ shape: c.shape, level: c.level, schedule: c.schedule, alpha: c.alpha, variant: c.variant, flops: c.flops, ...(c.weights ? { weights: c.weights } : {}) });

const keyOf = (c: Candidate) => `${c.variant}|${c.alpha}|${c.schedule.join(',')}`;

/** Lower KL first, then higher agreement. */
const better = (a: Agreement, b: Agreement) => a.kl - b.kl || b.top1 - a.top1;

/** The unmerged model's logits per calibration tensor and model (freed with the tensor). */
const referenceCache = new WeakMap<tf.Tensor, Map<string, { search: Float32Array; confirm: Float32Array; classes: number }>>();

function modelKey(g: Graph): string {
  const h = crypto.createHash('sha256').update(JSON.stringify(g.modelJson));
  for (const w of g.weights.values()) h.update(`${w.spec.name}:${w.bytes.byteLength};`).update(w.bytes);
  return h.digest('hex');
}

/** Switches backends to score and time candidates, and puts the caller's backend back when done. */
export async function tuneTurbo(model: string | Graph, images: CalibrationSet, options: TuneOptions): Promise<TuneResult> {
  return restoringBackend(() => tune(model, images, options));
}

async function tune(model: string | Graph, images: CalibrationSet, options: TuneOptions): Promise<TuneResult> {
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  const { targetFlops, targetSpeedup } = options;
  if ((targetFlops === undefined) === (targetSpeedup === undefined)) {
    throw new OptionsError('targetSpeedup', 'give exactly one of a target speed-up and a target FLOP ratio');
  }
  const target = (targetFlops ?? targetSpeedup)!;
  if (!(target > 1 && target <= 20)) throw new OptionsError(targetFlops ? 'targetFlops' : 'targetSpeedup', `${target} is outside (1, 20]`);
  const n = images.inputs.shape[0];
  if (n < 2) throw new OptionsError('calibrate', `${n} image(s); the tuner needs at least 2`);
  registerTurboOps();
  const source = modelSource(model);
  const graph = typeof model === 'string' ? await readGraphModel(model) : model;
  const plan = planModel(cloneGraph(graph), { r: 0, rThreshold: 0, architecture: options.architecture }, source);
  if (!plan.dims) throw new OptionsError('targetFlops', 'the model does not show its block widths, so FLOPs cannot be estimated');
  const shape: ModelShape = {
    tokenCount: plan.tokenCount,
    blocks: plan.blocks.length,
    protectedTokens: plan.protectedTokens,
    dims: plan.dims,
    rThreshold: options.fixed?.rThreshold ?? 0,
  };
  const seed = options.seed ?? 1;
  const [searchRows, confirmRows] = splitRows(n, seed, options.confirmShare ?? 0.3);
  const screenCount = Math.min(searchRows.length, options.screenImages ?? DEFAULT_SCREEN_IMAGES);
  const sampling = options.screenSampling ?? 'random';
  const scoreBackend = options.scoreBackend ?? defaultBackend();
  const variants = options.variants ?? MERGE_VARIANTS;
  const alphas = options.alphas ?? ALPHAS;
  const freeBlocks = options.freeBlocks ?? 0;
  const shapes = (options.shapes ?? SHAPES).map((sh) => keepingFree(sh, freeBlocks));
  const labels = images.labels;
  /** The FLOP model for a variant's candidates (block-end counting for MCTF). */
  const shapeOf = (variant: string) => shapeFor(shape, variantNamed(variant, variants), options.fixed);

  await useBackend(scoreBackend);
  // The unmerged model's logits, once, on every row; kept with the images for the next tuning of
  // the same model on them (several targets in one process).
  const refKey = `${modelKey(graph)}|${options.architecture ?? ''}|${seed}|${options.confirmShare ?? 0.3}`;
  let unmerged = referenceCache.get(images.inputs)?.get(refKey);
  if (!unmerged) {
    const base = await loadGraph(cloneGraph(graph), source);
    const search = rowSet('search', images.inputs, searchRows);
    const confirm = rowSet('confirm', images.inputs, confirmRows);
    try {
      checkInputShape(base, images.inputs, source);
      const [s, c] = [await logitsOn(base, search), await logitsOn(base, confirm)];
      checkFinite(s.data, source, 'the unmerged model');
      checkFinite(c.data, source, 'the unmerged model');
      unmerged = { search: s.data, confirm: c.data, classes: s.classes };
    } finally {
      base.model.dispose();
      disposeRowSet(search);
      disposeRowSet(confirm);
    }
    if (!referenceCache.has(images.inputs)) referenceCache.set(images.inputs, new Map());
    referenceCache.get(images.inputs)!.set(refKey, unmerged);
  }
  const { classes } = unmerged;
  const screenRows =
    sampling === 'stratified'
      ? // At least one row is left for the finalists (as the random split leaves one).
        stratifiedRows(searchRows, unmerged.search, classes, Math.max(1, Math.min(screenCount, searchRows.length - 1)))
      : // A seeded sample of the search rows, not its first images (folders are often sorted by class).
        splitRows(searchRows.length, seed + 1, screenCount / searchRows.length)[1].map((i) => searchRows[i]);
  const screenSet = new Set(screenRows);
  const restRows = searchRows.filter((r) => !screenSet.has(r));
  const sets = {
    screen: rowSet('screen', images.inputs, screenRows),
    rest: rowSet('rest', images.inputs, restRows),
    confirm: rowSet('confirm', images.inputs, confirmRows),
  };
  const speed = new SpeedBench(graph, source, options, scoreBackend, images.inputs);
  try {
    const ref: Record<keyof typeof sets, Float32Array> = {
      screen: pickRows(unmerged.search, searchRows, screenRows, classes),
      rest: pickRows(unmerged.search, searchRows, restRows, classes),
      confirm: unmerged.confirm,
    };
    const referenceSeconds = elapsed();
    const labelsOf = (rows: number[]) => (labels ? rows.map((r) => labels[r]) : undefined);
    const searchRef = concat(ref.screen, ref.rest);
    const searchOrder = [...screenRows, ...restRows];
    const selfAccuracy = (data: Float32Array, rows: number[]) => (labels ? agreement(data, data, classes, undefined, labelsOf(rows)).accuracy : undefined);
    const baseline = { search: selfAccuracy(searchRef, searchOrder), confirm: selfAccuracy(ref.confirm, confirmRows) };

    const cache = new LogitCache(source, classes);
    const build = (c: Candidate) => () => {
      const g = cloneGraph(graph);
      rewriteGraph(g, { ...options.fixed, ...variantNamed(c.variant, variants).options, r: c.schedule, alpha: c.alpha, architecture: options.architecture }, source);
      return g;
    };
    const what = (c: Candidate) => `the merged model (${c.shape}, alpha ${c.alpha}, ${c.variant})`;
    const limit = options.timeLimitSeconds;
    // With a speed target the choice is still to be timed when the search ends: the search gets
    // 60 % of the time limit.
    const searchLimit = limit !== undefined && targetSpeedup !== undefined ? 0.6 * limit : limit;
    const maxEvals = options.maxEvals ?? 48;
    // What still runs once the search stops, estimated from the screenings so far (seconds per
    // image, its build and load included): the choice on the other search rows and the confirmation
    // rows. The search ends early enough for them, so the limit bounds the whole tuning run.
    let screenSeconds = 0;
    const finishing = () => (log.length ? (screenSeconds / (log.length * screenRows.length)) * (restRows.length + confirmRows.length) : 0);
    let stopped: string | undefined;
    const log: ScoredCandidate[] = [];
    const scored = new Map<string, ScoredCandidate>();
    let best: ScoredCandidate | undefined;
    let stage = 'shapes';

    /** The candidate on the screening rows, or undefined when the budget is spent (then nothing runs). */
    const screen = async (c: Candidate): Promise<ScoredCandidate | undefined> => {
      const known = scored.get(keyOf(c));
      if (known) return known;
      if (log.length >= maxEvals) {
        stopped ??= `${maxEvals} candidates scored (maxEvals)`;
        return undefined;
      }
      if (searchLimit !== undefined && elapsed() + finishing() > searchLimit && best) {
        stopped ??= `time limit of ${limit} s reached${searchLimit !== limit ? ' (60 % of it for the search)' : ''}`;
        return undefined;
      }
      const t0 = elapsed();
      const [out] = await cache.get(keyOf(c), what(c), build(c), [sets.screen]);
      screenSeconds += elapsed() - t0;
      const s: ScoredCandidate = { ...bare(c), screen: agreement(ref.screen, out, classes, undefined, labelsOf(screenRows)), stage };
      log.push(s);
      scored.set(keyOf(c), s);
      if (!best || better(s.screen, best.screen) < 0) best = s;
      options.onProgress?.({ done: log.length, total: maxEvals, stage, best });
      return s;
    };
    /** Completes a screened candidate on the rest of the search rows. */
    const complete = async (s: ScoredCandidate): Promise<ScoredCandidate & { search: Agreement }> => {
      if (s.search) return s as ScoredCandidate & { search: Agreement };
      const [a, b] = await cache.get(keyOf(s), what(s), build(s), [sets.screen, sets.rest]);
      s.search = restRows.length ? agreement(searchRef, concat(a, b), classes, undefined, labelsOf(searchOrder)) : s.screen;
      return s as ScoredCandidate & { search: Agreement };
    };

    let flopTarget = target;
    // With no timing yet, a speed target is searched as the same FLOP ratio plus the margin: on CPU
    // backends measured speed-ups track the FLOP ratio to within a few percent (docs/BENCHMARKS.md),
    // and the timing of the choice below corrects the rest.
    if (targetSpeedup !== undefined) flopTarget = targetSpeedup * (1 + (options.speedMargin ?? 0.03));
    const searchFor = async (ft: number): Promise<ScoredCandidate & { search: Agreement }> => {
      const pool = variants.flatMap((v) => candidates(shapeOf(v.name), ft, shapes, v.usesAlpha ? alphas : alphas.slice(0, 1), v.name));
      if (pool.length === 0) throw unreachable(shape, ft);
      const lead0 = pool.filter((c) => c.variant === variants[0].name && c.alpha === alphas[0]);
      const first = lead0.length ? lead0 : pool;
      const ranked = async (cs: Candidate[]) => {
        for (const c of cs) if (!(await screen(c))) break;
      };
      // Stage 1: the shapes at the first alpha; every alpha on the two best shapes; the other merge
      // variants on the best shape and alpha.
      stage = 'shapes';
      await ranked(first);
      const bestOf = () => log.filter((s) => s.flops >= ft).sort((a, b) => better(a.screen, b.screen));
      const topShapes = [...new Set(bestOf().map((s) => s.shape))].slice(0, 2);
      stage = 'alpha';
      await ranked(pool.filter((c) => c.variant === variants[0].name && topShapes.includes(c.shape)));
      stage = 'variant';
      const lead = bestOf()[0];
      if (lead) await ranked(pool.filter((c) => c.variant !== lead.variant && c.shape === lead.shape && (c.alpha === lead.alpha || !variantNamed(c.variant, variants).usesAlpha)));
      // Stage 2: per-block moves from the best so far.
      if (options.perBlock) {
        stage = 'per block';
        await perBlock(ft);
      }
      // Stage 3: the finalists on every search row.
      stage = 'finalists';
      const eligible = log.filter((s) => s.flops >= ft).sort((a, b) => better(a.screen, b.screen));
      const finalists: (ScoredCandidate & { search: Agreement })[] = [];
      for (const [i, f] of eligible.slice(0, Math.max(1, options.finalists ?? 2)).entries()) {
        // The best is always completed: the choice must be scored on every search row.
        if (i > 0 && searchLimit !== undefined && elapsed() + finishing() > searchLimit) {
          stopped ??= `time limit of ${limit} s reached${searchLimit !== limit ? ' (60 % of it for the search)' : ''}`;
          break;
        }
        finalists.push(await complete(f));
      }
      if (!finalists.length) throw unreachable(shape, ft);
      return finalists.sort((a, b) => better(a.search, b.search))[0];
    };

    /** Greedy moves on the best candidate's per-block weights, then its alpha; first improvement kept. */
    const perBlock = async (ft: number) => {
      let current = [...log].filter((s) => s.flops >= ft).sort((a, b) => better(a.screen, b.screen))[0];
      if (!current) return;
      const order = rng(seed + 7);
      for (const step of [0.3, 0.15]) {
        let improved = true;
        while (improved) {
          improved = false;
          const w = current.weights ?? weightsOf(current.schedule);
          const moves: Candidate[] = [];
          for (let l = freeBlocks; l < w.length; l++) {
            for (const d of [step, -step]) {
              const next = [...w];
              next[l] = Math.max(0, next[l] + d);
              const fit = fitWeights(next, shapeOf(current.variant), ft);
              if (fit) moves.push({ ...bare(current), shape: SEARCHED_SHAPE, weights: next, level: fit.level, schedule: fit.schedule, flops: fit.flops });
            }
          }
          const v = variantNamed(current.variant, variants);
          if (v.usesAlpha) {
            for (const a of alphaNeighbours(current.alpha)) moves.push({ ...bare(current), alpha: a });
          }
          // A seeded shuffle: with a small budget every block still gets a chance.
          for (let i = moves.length - 1; i > 0; i--) {
            const j = Math.floor(order() * (i + 1));
            [moves[i], moves[j]] = [moves[j], moves[i]];
          }
          for (const m of moves) {
            if (scored.has(keyOf(m))) continue;
            const s = await screen(m);
            if (!s) return;
            // A move must win by more than a rounding difference to be kept.
            if (s.screen.kl < current.screen.kl * 0.99) {
              current = s;
              improved = true;
              break;
            }
          }
        }
      }
    };

    let chosen = await searchFor(flopTarget);
    const searchSeconds = elapsed() - referenceSeconds;
    let efficiency: number | undefined;

    if (targetSpeedup !== undefined) {
      const want = targetSpeedup * (1 + (options.speedMargin ?? 0.03));
      chosen.speedup = await speed.measure(chosen);
      efficiency = chosen.speedup / chosen.flops;
      // Off the target: rebuild the same shape for the FLOP ratio the measured efficiency asks for
      // and time it again, a few times at most (each timing is the costly part on wasm). Short of
      // it, until it is reached; well above it (merging more than needed costs accuracy), once,
      // keeping the faster one if the lighter one falls short.
      const refitted = async (ft: number): Promise<ScoredCandidate & { search: Agreement }> => {
        const w = chosen.weights ?? weightsOf(chosen.schedule);
        const fit = fitWeights(w, shapeOf(chosen.variant), ft);
        const next = fit ? { ...bare(chosen), shape: chosen.weights ? chosen.shape : `${chosen.shape}, refitted`, weights: w, level: fit.level, schedule: fit.schedule, flops: fit.flops } : undefined;
        if (!next || keyOf(next) === keyOf(chosen)) return chosen;
        stage = 'speed refit';
        const [a, b] = await cache.get(keyOf(next), what(next), build(next), [sets.screen, sets.rest]);
        const screenScore = agreement(ref.screen, a, classes, undefined, labelsOf(screenRows));
        const s: ScoredCandidate & { search: Agreement } = {
          ...(scored.get(keyOf(next)) ?? { ...next, stage }),
          screen: screenScore,
          search: restRows.length ? agreement(searchRef, concat(a, b), classes, undefined, labelsOf(searchOrder)) : screenScore,
        };
        s.speedup = await speed.measure(s);
        log.push(s);
        scored.set(keyOf(next), s);
        return s;
      };
      const timeLeft = () => limit === undefined || elapsed() <= limit;
      for (let tries = 0; chosen.speedup! < want && tries < 3; tries++) {
        if (!timeLeft()) {
          stopped ??= `time limit of ${limit} s reached`;
          break;
        }
        flopTarget = Math.max(flopTarget * 1.01, (want / (chosen.speedup! / chosen.flops)) * 1.01);
        const next = await refitted(flopTarget);
        if (next === chosen) break;
        chosen = next;
      }
      if (chosen.speedup! > want * 1.08 && timeLeft()) {
        const lighter = await refitted(Math.max(1.01, (chosen.flops * want * 1.01) / chosen.speedup!));
        if (lighter.speedup !== undefined && lighter.speedup >= want) {
          chosen = lighter;
          flopTarget = lighter.flops;
        }
      }
      if (chosen.speedup! < targetSpeedup) {
        throw new OptionsError('targetSpeedup', `${targetSpeedup}x was not reached on ${speed.backend}: the best candidate measured ${chosen.speedup!.toFixed(2)}x (FLOP ratio ${chosen.flops.toFixed(2)})`);
      }
    }
    const [confirmOut] = await cache.get(keyOf(chosen), what(chosen), build(chosen), [sets.confirm]);
    return {
      chosen,
      confirm: agreement(ref.confirm, confirmOut, classes, undefined, labelsOf(confirmRows)),
      baseline,
      flopTarget,
      efficiency,
      log,
      searchImages: searchRows.map((i) => images.names[i]),
      confirmImages: confirmRows.map((i) => images.names[i]),
      timing: { reference: referenceSeconds, search: searchSeconds, speed: speed.seconds, loads: cache.loads },
      scoreBackend,
      speedBackend: targetSpeedup !== undefined ? speed.backend : undefined,
      stopped,
      seconds: elapsed(),
    };
  } finally {
    Object.values(sets).forEach(disposeRowSet);
    speed.dispose();
    await useBackend(scoreBackend);
  }
}

/** The alphas next to `a` on a doubling scale (0 is ToMe, next to 0.5). */
function alphaNeighbours(a: number): number[] {
  if (a === 0) return [0.5];
  return a <= 0.5 ? [0, a * 2] : [a / 2, a * 2];
}

/** The rows of `data` (logits of `rows`, in that order) for `want`, in want's order. */
function pickRows(data: Float32Array, rows: number[], want: number[], classes: number): Float32Array {
  const at = new Map(rows.map((r, i) => [r, i]));
  const out = new Float32Array(want.length * classes);
  want.forEach((r, i) => out.set(data.subarray(at.get(r)! * classes, (at.get(r)! + 1) * classes), i * classes));
  return out;
}

/**
 * `count` of `rows` spread evenly over the unmerged model's confidence: rows sorted by their top
 * softmax probability, one from the middle of each of `count` equal strata (in row order).
 */
export function stratifiedRows(rows: number[], logits: Float32Array, classes: number, count: number): number[] {
  if (count >= rows.length) return [...rows];
  const confidence = rows.map((_, i) => {
    const z = logits.subarray(i * classes, (i + 1) * classes);
    let max = -Infinity;
    for (const v of z) max = Math.max(max, v);
    let sum = 0;
    for (const v of z) sum += Math.exp(v - max);
    return 1 / sum;
  });
  const byConfidence = rows.map((r, i) => [r, confidence[i]] as const).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const picked = Array.from({ length: count }, (_, k) => byConfidence[Math.floor(((k + 0.5) * rows.length) / count)][0]);
  return picked.sort((a, b) => a - b);
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Speed-ups on the target backend: the unmerged model loaded once, each candidate timed against it in interleaved pairs. */
class SpeedBench {
  readonly backend: BackendName;
  seconds = 0;
  private base?: Loaded;
  private x?: tf.Tensor;

  constructor(
    private readonly graph: Graph,
    private readonly source: string,
    private readonly options: TuneOptions,
    private readonly scoreBackend: BackendName,
    private readonly images: tf.Tensor4D,
  ) {
    this.backend = options.backend ?? scoreBackend;
  }

  async measure(c: Candidate): Promise<number> {
    const t0 = Date.now();
    try {
      const batch = Math.min(this.options.speedBatch ?? 8, this.images.shape[0]);
      // The input's values are read on the scoring backend, then made a tensor of the timing backend.
      const values = this.x ? undefined : ((await tf.slice(this.images, [0, 0, 0, 0], [batch, -1, -1, -1]).data()) as Float32Array);
      await useBackend(this.backend);
      this.x ??= tf.tensor4d(values!, [batch, ...this.images.shape.slice(1)] as [number, number, number, number]);
      this.base ??= await loadGraph(cloneGraph(this.graph), this.source);
      const g = cloneGraph(this.graph);
      rewriteGraph(g, { ...this.options.fixed, ...variantNamed(c.variant, this.options.variants ?? MERGE_VARIANTS).options, r: c.schedule, alpha: c.alpha, architecture: this.options.architecture }, this.source);
      const cand = await loadGraph(g, this.source);
      try {
        return (await pairedSpeedup(this.base, cand, this.x, this.options.speedPairs ?? 7)).speedup;
      } finally {
        cand.model.dispose();
        await useBackend(this.scoreBackend);
      }
    } finally {
      this.seconds += (Date.now() - t0) / 1000;
    }
  }

  dispose(): void {
    this.base?.model.dispose();
    this.x?.dispose();
  }
}

function unreachable(shape: ModelShape, target: number): OptionsError {
  const most = flopRatio(shape, new Array(shape.blocks).fill(shape.tokenCount));
  return new OptionsError('targetFlops', `a FLOP ratio of ${target.toFixed(2)} is out of reach: merging as much as possible in every block gives ${most.toFixed(2)}`);
}
