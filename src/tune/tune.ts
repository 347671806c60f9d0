// tuneTurbo: choose the merge schedule and alpha that keep a model closest to its unmerged self at
// a target speed-up. Candidates (src/tune/schedules.ts) are scored on one half of the calibration
// images by agreement with the unmerged model; the winner is confirmed on the other half, which the
// search never saw, so the reported score is not the one that was maximised.

import * as tf from '@tensorflow/tfjs-core';
import { GraphModel, loadGraphModel } from '@tensorflow/tfjs-converter';
import * as path from 'path';
import { planModel, rewriteGraph } from '../convert';
import { GraphError, OptionsError } from '../errors';
import { Graph } from '../graph/ir';
import { graphToArtifacts, readGraphModel } from '../graph/model_io';
import { registerTurboOps } from '../ops/register';
import { RewriteOptions } from '../rewrite/pass';
import { BackendName, defaultBackend, restoringBackend, useBackend } from '../runtime/backend';
import { CalibrationSet } from './calibration';
import { Candidate, ModelShape, candidates, flopRatio, stepLevel } from './schedules';
import { Agreement, agreement, compareAgreement } from './score';
import { mulberry32 as rng } from '../rng';
import { interleave, median, timedHere } from '../runtime/timing';

export interface TuneOptions {
  /** Reach this FLOP ratio (backend-free, deterministic). */
  targetFlops?: number;
  /** Reach this measured speed-up on `backend`. */
  targetSpeedup?: number;
  /** Candidates scored at most (default 36). */
  maxEvals?: number;
  /** Stop starting new candidates after this many seconds. */
  timeLimitSeconds?: number;
  /** Seeds the search/confirm split (default 1). */
  seed?: number;
  /** Where speed is measured (default: the fastest installed). Scoring runs on the fastest installed. */
  backend?: BackendName;
  /** Batch size of the speed measurement (default 8). */
  speedBatch?: number;
  architecture?: string;
  /** Settings the tuner keeps fixed (beta, gamma, rThreshold, propAttn, portable): candidates are scored as they will be written. */
  fixed?: Partial<Omit<RewriteOptions, 'r' | 'alpha' | 'architecture'>>;
  onProgress?: (p: TuneProgress) => void;
}

export interface TuneProgress {
  done: number;
  total: number;
  best?: ScoredCandidate;
}

export interface ScoredCandidate extends Candidate {
  search: Agreement;
  /** Measured speed-up over the unmerged model (targetSpeedup only). */
  speedup?: number;
}

export interface TuneResult {
  chosen: ScoredCandidate;
  /** The chosen candidate on the images the search did not use. */
  confirm: Agreement;
  /** The unmerged model's accuracy on the same halves, when labels exist. */
  baseline: { search?: number; confirm?: number };
  /** FLOP ratio the candidates were built for (for targetSpeedup: derived from a measured efficiency). */
  flopTarget: number;
  /** Measured speed-up ÷ FLOP ratio of the probe candidate (targetSpeedup only). */
  efficiency?: number;
  log: ScoredCandidate[];
  searchImages: string[];
  confirmImages: string[];
  seconds: number;
}


/** A seeded split of 0..n−1 into two halves (the search half gets the extra image). */
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

function cloneGraph(g: Graph): Graph {
  return new Graph(JSON.parse(JSON.stringify(g.modelJson)), [...g.weights.values()]);
}

interface Runner {
  model: GraphModel;
  input: string;
  output: string;
}

async function load(graph: Graph): Promise<Runner> {
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
  return { model, input: model.inputs[0].name, output: graph.outputNames()[0].replace(/:0$/, '') };
}

async function logits(r: Runner, inputs: tf.Tensor4D, batch = 16): Promise<{ data: Float32Array; classes: number }> {
  const n = inputs.shape[0];
  const parts: Float32Array[] = [];
  let classes = 0;
  for (let i = 0; i < n; i += batch) {
    const x = tf.slice(inputs, [i, 0, 0, 0], [Math.min(batch, n - i), -1, -1, -1]);
    const y = r.model.execute({ [r.input]: x }, r.output) as tf.Tensor;
    classes = y.shape[y.shape.length - 1]!;
    parts.push((await y.data()) as Float32Array);
    tf.dispose([x, y]);
  }
  const data = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, classes };
}

/** Median over interleaved pairs of t(unmerged) / t(candidate), the order alternating, so load drifts cancel. */
async function pairedSpeedup(base: Runner, cand: Runner, x: tf.Tensor, pairs = 7): Promise<number> {
  const run = (r: Runner) =>
    timedHere(r.output, async () => {
      const y = r.model.execute({ [r.input]: x }, r.output) as tf.Tensor;
      await y.data();
      y.dispose();
    });
  const { times } = await interleave([run(base), run(cand)], { rounds: pairs });
  return median(times[0].wall.map((tb, i) => tb / times[1].wall[i]));
}

function rewritten(graph: Graph, c: Candidate, options: TuneOptions, source: string): Graph {
  const g = cloneGraph(graph);
  rewriteGraph(g, { ...options.fixed, r: c.schedule, alpha: c.alpha, architecture: options.architecture }, source);
  return g;
}

/** What errors about the model name: its model.json when read from disk. */
function modelSource(model: string | Graph): string {
  if (typeof model !== 'string') return 'model.json';
  return model.endsWith('.json') ? model : path.join(model, 'model.json');
}

/** The images must have the model's input shape; tfjs would only say so from deep inside execute. */
function checkInputShape(r: Runner, images: tf.Tensor4D, source: string): void {
  const want = r.model.inputs[0].shape;
  const got = images.shape;
  if (!want || want.length !== 4) return;
  if (want.slice(1).some((d, i) => d > 0 && d !== got[i + 1])) {
    throw new GraphError(source, `takes input [${want.slice(1).join(', ')}], but the calibration images were preprocessed to [${got.slice(1).join(', ')}] (center_crop in preprocessing.json)`);
  }
}

/**
 * NaN or infinite logits make every agreement 100 % and every KL NaN, so any candidate would "win":
 * refuse before a model is written on that evidence.
 */
function checkFinite(logits: Float32Array, source: string, what: string): void {
  if (!logits.every(Number.isFinite)) {
    throw new GraphError(source, `${what} gives non-finite logits (NaN or infinity) on the calibration images, so the tuner cannot score it; nothing was written`);
  }
}

/** Switches backends to score and time candidates, and puts the caller's backend back when done. */
export async function tuneTurbo(model: string | Graph, images: CalibrationSet, options: TuneOptions): Promise<TuneResult> {
  return restoringBackend(() => tune(model, images, options));
}

async function tune(model: string | Graph, images: CalibrationSet, options: TuneOptions): Promise<TuneResult> {
  const started = Date.now();
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
  const [searchRows, confirmRows] = splitHalves(n, options.seed ?? 1);
  const scoreBackend = defaultBackend();
  const speedBackend = options.backend ?? scoreBackend;

  await useBackend(scoreBackend);
  const base = await load(cloneGraph(graph));
  let ref;
  try {
    checkInputShape(base, images.inputs, source);
    ref = await logits(base, images.inputs);
  } finally {
    base.model.dispose();
  }
  checkFinite(ref.data, source, 'the unmerged model');
  const labels = images.labels;
  const baseline = {
    search: labels ? agreement(ref.data, ref.data, ref.classes, searchRows, labels).accuracy : undefined,
    confirm: labels ? agreement(ref.data, ref.data, ref.classes, confirmRows, labels).accuracy : undefined,
  };

  // Logits of every scored candidate, so the winner's confirmation needs no second run.
  const outputs = new WeakMap<ScoredCandidate, Float32Array>();
  const score = async (c: Candidate): Promise<ScoredCandidate> => {
    await useBackend(scoreBackend);
    const r = await load(rewritten(graph, c, options, source));
    let out;
    try {
      out = await logits(r, images.inputs);
    } finally {
      r.model.dispose();
    }
    checkFinite(out.data, source, `the merged model (${c.shape}, alpha ${c.alpha})`);
    const scored = { ...c, search: agreement(ref.data, out.data, ref.classes, searchRows, labels) };
    outputs.set(scored, out.data);
    return scored;
  };
  const speedOf = async (c: Candidate): Promise<number> => {
    await useBackend(speedBackend);
    const b = await load(cloneGraph(graph));
    const batch = Math.min(options.speedBatch ?? 8, n);
    const x = tf.slice(images.inputs, [0, 0, 0, 0], [batch, -1, -1, -1]);
    try {
      const r = await load(rewritten(graph, c, options, source));
      try {
        return await pairedSpeedup(b, r, x);
      } finally {
        r.model.dispose();
      }
    } finally {
      tf.dispose(x);
      b.model.dispose();
    }
  };

  // A measured target becomes a FLOP target through the backend's efficiency on a probe candidate.
  let flopTarget = target;
  let efficiency: number | undefined;
  if (targetSpeedup !== undefined) {
    const probe = candidates(shape, targetSpeedup).find((c) => c.shape === 'constant');
    if (!probe) throw unreachable(shape, target);
    efficiency = (await speedOf(probe)) / probe.flops;
    flopTarget = Math.max(targetSpeedup, targetSpeedup / efficiency);
  }
  const pool = candidates(shape, flopTarget);
  if (pool.length === 0) throw unreachable(shape, flopTarget);

  const maxEvals = options.maxEvals ?? 36;
  const total = Math.min(maxEvals, pool.length);
  const log: ScoredCandidate[] = [];
  let best: ScoredCandidate | undefined;
  for (const c of pool.slice(0, total)) {
    if (options.timeLimitSeconds !== undefined && (Date.now() - started) / 1000 > options.timeLimitSeconds && best) break;
    const s = await score(c);
    log.push(s);
    if (!best || compareAgreement(s.search, best.search) < 0) best = s;
    options.onProgress?.({ done: log.length, total, best });
  }
  let chosen = best!;

  if (targetSpeedup !== undefined) {
    // The FLOP-to-speed efficiency varies with the schedule: measure the winner, then move its level
    // to the least merging that still reaches the target (every level merged beyond it costs accuracy).
    chosen.speedup = await speedOf(chosen);
    const direction = chosen.speedup >= targetSpeedup ? -1 : 1;
    for (let step = 0; step < 8; step++) {
      if (direction > 0 && chosen.speedup! >= targetSpeedup) break;
      const next = stepLevel(chosen, shape, direction);
      if (!next) break;
      const speedup = await speedOf(next);
      if (direction < 0 && speedup < targetSpeedup) break;
      const scored = await score(next);
      scored.speedup = speedup;
      log.push(scored);
      chosen = scored;
    }
    if (chosen.speedup! < targetSpeedup) {
      throw new OptionsError('targetSpeedup', `${targetSpeedup}x was not reached on ${speedBackend}: the best candidate measured ${chosen.speedup!.toFixed(2)}x (FLOP ratio ${chosen.flops.toFixed(2)})`);
    }
  }
  return {
    chosen,
    confirm: agreement(ref.data, outputs.get(chosen)!, ref.classes, confirmRows, labels),
    baseline,
    flopTarget,
    efficiency,
    log,
    searchImages: searchRows.map((i) => images.names[i]),
    confirmImages: confirmRows.map((i) => images.names[i]),
    seconds: (Date.now() - started) / 1000,
  };
}

function unreachable(shape: ModelShape, target: number): OptionsError {
  const most = flopRatio(shape, new Array(shape.blocks).fill(shape.tokenCount));
  return new OptionsError('targetFlops', `a FLOP ratio of ${target.toFixed(2)} is out of reach: merging as much as possible in every block gives ${most.toFixed(2)}`);
}
