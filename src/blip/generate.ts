// Greedy and beam-search decoding, ported step for step from transformers' TensorFlow generation
// (generation/tf_utils.py, greedy_search and beam_search, 4.x) so a TypeScript loop over a
// one-step decoder graph yields the sequences TFBlip*.generate yields. Scores are kept in float32
// (Math.fround) because TF's -1e9 penalties and top-k ties are decided in float32.

/** Last-position logits for each row of `ids` (every row has the same length). */
export type StepFn = (ids: number[][]) => Promise<Float32Array[]>;

export interface GenerateOptions {
  /** Total length including the prompt (transformers' max_length). */
  maxLength: number;
  eosTokenId: number;
  padTokenId: number;
  /** 1: greedy. */
  numBeams?: number;
  lengthPenalty?: number;
  earlyStopping?: boolean;
  /** The end token is masked until a sequence is this long (TFMinLengthLogitsProcessor). */
  minLength?: number;
  /** Called after each step with the current length, for progress. */
  onStep?: (length: number) => void;
}

const PENALTY = -1.0e9;
const f32 = Math.fround;

/** Decodes every prompt (all of one length) and returns, per prompt, the sequence including the prompt. */
export async function generate(prompts: number[][], step: StepFn, options: GenerateOptions): Promise<number[][]> {
  const promptLength = prompts[0]?.length ?? 0;
  if (promptLength === 0) throw new Error('generate: needs at least one non-empty prompt');
  if (prompts.some((p) => p.length !== promptLength)) throw new Error('generate: prompts must have the same length');
  if (options.maxLength <= promptLength) {
    throw new Error(`generate: maxLength ${options.maxLength} must exceed the prompt length ${promptLength}`);
  }
  return (options.numBeams ?? 1) > 1 ? beamSearch(prompts, step, options) : greedySearch(prompts, step, options);
}

function maskEndToken(scores: Float32Array, length: number, options: GenerateOptions): void {
  if (options.minLength !== undefined && length < options.minLength) scores[options.eosTokenId] = -Infinity;
}

/** Index of the largest value, the first one on ties (tf.argmax). */
function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** Indices of the k largest values, descending, lower index first on ties (tf.math.top_k). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b] - values[a] || a - b);
  return idx.slice(0, k);
}

async function greedySearch(prompts: number[][], step: StepFn, options: GenerateOptions): Promise<number[][]> {
  const { maxLength, eosTokenId, padTokenId } = options;
  const seqs = prompts.map((p) => [...p]);
  const finished = prompts.map(() => false);
  let length = prompts[0].length;
  // TF runs the body once, then loops while some sequence is unfinished, up to maxLength.
  do {
    const logits = await step(seqs);
    for (let b = 0; b < seqs.length; b++) {
      maskEndToken(logits[b], length, options);
      const next = finished[b] ? padTokenId : argmax(logits[b]);
      if (next === eosTokenId) finished[b] = true;
      seqs[b].push(next);
    }
    length++;
    options.onStep?.(length);
  } while (length < maxLength && !finished.every(Boolean));
  return seqs;
}

interface Beam {
  tokens: number[];
  score: number;
  finished: boolean;
}

function logSoftmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const logSum = Math.log(sum);
  return logits.map((v) => f32(v - max - logSum));
}

async function beamSearch(prompts: number[][], step: StepFn, options: GenerateOptions): Promise<number[][]> {
  const { maxLength, eosTokenId, padTokenId } = options;
  const numBeams = options.numBeams ?? 1;
  const lengthPenalty = options.lengthPenalty ?? 1;
  const earlyStopping = options.earlyStopping ?? false;
  const promptLength = prompts[0].length;
  const padded = (p: number[]) => [...p, ...new Array<number>(maxLength - p.length).fill(padTokenId)];
  // Running beams start as copies of the prompt; only the first counts (the others score -1e9).
  let running: Beam[][] = prompts.map((p) =>
    Array.from({ length: numBeams }, (_, i) => ({ tokens: padded(p), score: i === 0 ? 0 : PENALTY, finished: false })),
  );
  let done: Beam[][] = prompts.map(() =>
    Array.from({ length: numBeams }, () => ({ tokens: new Array<number>(maxLength).fill(padTokenId), score: PENALTY, finished: false })),
  );
  let length = promptLength;

  const lengthScale = (n: number) => f32(Math.pow(n, lengthPenalty));
  const canImprove = () => {
    let any = false;
    for (let b = 0; b < prompts.length; b++) {
      const best = f32(running[b][0].score / lengthScale(length - promptLength));
      const worst = Math.min(...done[b].map((d) => d.score));
      for (const d of done[b]) if (best > (d.finished ? worst : PENALTY)) any = true;
    }
    const allFinished = done.every((beams) => beams.every((d) => d.finished));
    return any && !(allFinished && earlyStopping);
  };

  const body = async () => {
    const rows = running.flatMap((beams) => beams.map((beam) => beam.tokens.slice(0, length)));
    const logits = await step(rows);
    const nextRunning: Beam[][] = [];
    const nextDone: Beam[][] = [];
    for (let b = 0; b < prompts.length; b++) {
      const vocab = logits[0].length;
      const total = new Float32Array(numBeams * vocab);
      for (let k = 0; k < numBeams; k++) {
        const scores = logSoftmax(logits[b * numBeams + k]);
        maskEndToken(scores, length, options);
        const base = running[b][k].score;
        for (let v = 0; v < vocab; v++) total[k * vocab + v] = f32(scores[v] + base);
      }
      const candidates = topK(total, 2 * numBeams).map((index, rank) => {
        const tokens = [...running[b][Math.floor(index / vocab)].tokens];
        tokens[length] = index % vocab;
        const isEnd = tokens[length] === eosTokenId;
        return { tokens, logProb: total[index], isEnd, justFinished: isEnd && rank < numBeams };
      });
      const runningScores = candidates.map((c) => (c.isEnd ? f32(c.logProb + PENALTY) : c.logProb));
      nextRunning.push(
        topK(runningScores, numBeams).map((i) => ({ tokens: candidates[i].tokens, score: runningScores[i], finished: false })),
      );
      const full = earlyStopping && done[b].every((d) => d.finished);
      const scale = lengthScale(length + 1 - promptLength);
      const finishedScores = candidates.map((c) => {
        const s = f32(c.logProb / scale);
        return !c.justFinished || full ? f32(s + PENALTY) : s;
      });
      const merged: Beam[] = [
        ...done[b],
        ...candidates.map((c, i) => ({ tokens: c.tokens, score: finishedScores[i], finished: c.justFinished })),
      ];
      nextDone.push(topK(merged.map((m) => m.score), numBeams).map((i) => merged[i]));
    }
    running = nextRunning;
    done = nextDone;
    length++;
    options.onStep?.(length);
  };

  await body();
  while (length < maxLength && canImprove()) await body();

  return prompts.map((_, b) => {
    const anyFinished = done[b].some((d) => d.finished);
    return (anyFinished ? done[b][0] : running[b][0]).tokens.slice(0, length);
  });
}
