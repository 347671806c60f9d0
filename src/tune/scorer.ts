// How the tuner runs candidates for their logits. The calibration images are decoded once and cut
// into batches once per row set; the unmerged model's logits are computed once; each candidate is
// rewritten and loaded once per row set it is asked about, and its logits are kept, so a finalist
// scored on a screening subset is completed on the rest of the search rows instead of rerun.
//
// On tensorflow a candidate loads through loadTurboGraph, i.e. as one TensorFlow session graph with
// no disk cache (a tuning run builds dozens of graphs that nobody loads again); elsewhere op by op.

import * as tf from '@tensorflow/tfjs-core';
import { GraphError } from '../errors';
import { Graph } from '../graph/ir';
import { TurboGraphModel, loadTurboGraph } from '../runtime/load';
import { interleave, median, timedHere } from '../runtime/timing';

/** Images per inference call: large enough that TensorFlow's per-call cost vanishes, small enough to stay in cache-sized activations. */
export const SCORE_BATCH = 32;

export interface RowSet {
  name: string;
  rows: number[];
  batches: tf.Tensor4D[];
}

export interface Loaded {
  model: TurboGraphModel;
  input: string;
  output: string;
}

/** A graph a rewrite may change: its own model.json, the (read-only) weights shared. */
export function cloneGraph(g: Graph): Graph {
  return new Graph(JSON.parse(JSON.stringify(g.modelJson)), [...g.weights.values()]);
}

/**
 * Medians over interleaved pairs of t(unmerged) / t(candidate), the order alternating so load drifts
 * cancel: of wall time, and of this process's CPU time (which other jobs disturb far less).
 */
export async function pairedSpeedup(base: Loaded, cand: Loaded, x: tf.Tensor, pairs: number): Promise<{ speedup: number; cpuSpeedup: number }> {
  const run = (m: Loaded) =>
    timedHere(m.output, async () => {
      const y = m.model.execute({ [m.input]: x }, m.output) as tf.Tensor;
      await y.data();
      y.dispose();
    });
  const { times } = await interleave([run(base), run(cand)], { rounds: pairs });
  return { speedup: median(times[0].wall.map((t, i) => t / times[1].wall[i])), cpuSpeedup: median(times[0].cpu.map((t, i) => t / times[1].cpu[i])) };
}

export async function loadGraph(graph: Graph, source: string): Promise<Loaded> {
  const model = await loadTurboGraph(graph, source, { cacheDir: false });
  return { model, input: model.inputs[0].name, output: graph.outputNames()[0].replace(/:0$/, '') };
}

/** The rows of `images`, in batches of at most `batch` (owned by the caller: disposeRowSet). */
export function rowSet(name: string, images: tf.Tensor4D, rows: number[], batch = SCORE_BATCH): RowSet {
  const batches: tf.Tensor4D[] = [];
  for (let i = 0; i < rows.length; i += batch) {
    const idx = tf.tensor1d(rows.slice(i, i + batch), 'int32');
    batches.push(tf.gather(images, idx) as tf.Tensor4D);
    idx.dispose();
  }
  return { name, rows, batches };
}

export function disposeRowSet(s: RowSet): void {
  tf.dispose(s.batches);
}

/** Logits [rows, classes] of `m` on every batch of `set`, concatenated in row order. */
export async function logitsOn(m: Loaded, set: RowSet): Promise<{ data: Float32Array; classes: number }> {
  const parts: Float32Array[] = [];
  let classes = 0;
  for (const x of set.batches) {
    const y = m.model.execute({ [m.input]: x }, m.output) as tf.Tensor;
    classes = y.shape[y.shape.length - 1]!;
    parts.push((await y.data()) as Float32Array);
    y.dispose();
  }
  const data = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, classes };
}

/**
 * NaN or infinite logits make every agreement 100 % and every KL NaN, so any candidate would "win":
 * refuse before a model is written on that evidence.
 */
export function checkFinite(logits: Float32Array, source: string, what: string): void {
  if (!logits.every(Number.isFinite)) {
    throw new GraphError(source, `${what} gives non-finite logits (NaN or infinity) on the calibration images, so the tuner cannot score it; nothing was written`);
  }
}

/** The images must have the model's input shape; tfjs would only say so from deep inside execute. */
export function checkInputShape(m: Loaded, images: tf.Tensor4D, source: string): void {
  const want = m.model.inputs[0].shape;
  const got = images.shape;
  if (!want || want.length !== 4) return;
  if (want.slice(1).some((d, i) => d > 0 && d !== got[i + 1])) {
    throw new GraphError(source, `takes input [${want.slice(1).join(', ')}], but the calibration images were preprocessed to [${got.slice(1).join(', ')}] (center_crop in preprocessing.json)`);
  }
}

/**
 * Logits of candidates by key and row set, each computed at most once. `build` makes the
 * candidate's graph; a candidate asked about several row sets is built and loaded once per call.
 */
export class LogitCache {
  private readonly store = new Map<string, Float32Array>();
  /** Candidate graphs built and loaded (for the search log's cost accounting). */
  loads = 0;

  constructor(
    private readonly source: string,
    private readonly classes: number,
  ) {}

  async get(key: string, what: string, build: () => Graph, sets: RowSet[]): Promise<Float32Array[]> {
    const missing = sets.filter((s) => !this.store.has(`${key}@${s.name}`));
    if (missing.length) {
      const m = await loadGraph(build(), this.source);
      this.loads++;
      try {
        for (const s of missing) {
          const out = await logitsOn(m, s);
          if (out.classes !== this.classes) throw new GraphError(this.source, `${what} gives ${out.classes} classes, the unmerged model ${this.classes}`);
          checkFinite(out.data, this.source, what);
          this.store.set(`${key}@${s.name}`, out.data);
        }
      } finally {
        m.model.dispose();
      }
    }
    return sets.map((s) => this.store.get(`${key}@${s.name}`)!);
  }
}
