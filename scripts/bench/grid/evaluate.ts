// eval-grid's passes: a model's top-5 over every batch (accuracy, timed as a whole) and the
// paired timing of a merged model against the unmerged one (src/runtime/timing.ts's interleave: A B, B A, ...).

import * as tf from '@tensorflow/tfjs-core';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { Sample, interleave, timeOnce } from '../../../src/runtime/timing';
import { PairedTiming } from './results';

export interface Batch {
  data: Float32Array;
  size: number;
}

export interface Pass {
  /** Top-5 class indices per image, best first. */
  top5: number[][];
  seconds: number;
  imagesPerSec: number;
}

export function stack(batch: Float32Array[]): Float32Array {
  const data = new Float32Array(batch.length * batch[0].length);
  batch.forEach((c, j) => data.set(c, j * c.length));
  return data;
}

function forward(model: GraphModel, b: Batch, crop: number): tf.Tensor2D {
  return tf.tidy(() => {
    const x = tf.tensor4d(b.data, [b.size, 3, crop, crop]);
    const out = model.execute(x);
    const logits = (Array.isArray(out) ? out[0] : out) as tf.Tensor2D;
    return tf.topk(logits, 5).indices as tf.Tensor2D;
  });
}

/** Untimed warm-up, then one pass over every batch (timed as a whole, wall clock). */
export async function evaluate(model: GraphModel, batches: Batch[], crop: number, warmup: number, tick: (images: number) => void): Promise<Pass> {
  for (let i = 0; i < warmup; i++) await timeBatch(model, batches[i % batches.length], crop);
  const top5: number[][] = [];
  let images = 0;
  const pass = await timeOnce(async () => {
    for (const b of batches) {
      const idx = forward(model, b, crop);
      top5.push(...((await idx.array()) as number[][]));
      idx.dispose();
      images += b.size;
      tick(b.size);
      await yieldToEventLoop(); // lets the progress bar's timer run
    }
  });
  const seconds = pass.wallMs / 1000;
  return { top5, seconds, imagesPerSec: images / seconds };
}

/** wasm reads resolve as microtasks, so a long evaluation never lets timers (the progress bar) run. */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One batch: upload, forward, top-5 read back. */
async function timeBatch(model: GraphModel, b: Batch, crop: number): Promise<Sample> {
  const t = await timeOnce(async () => {
    const idx = forward(model, b, crop);
    await idx.data();
    return idx;
  });
  t.value.dispose();
  return t;
}

/**
 * Both (warm) models on the same batches, alternating A B, B A, ... so that both see the same
 * load on a shared machine; wall clock.
 */
export async function pairedTiming(unmerged: GraphModel, turbo: GraphModel, batches: Batch[], pairs: number, crop: number, tick: (images: number) => void): Promise<PairedTiming> {
  const batchOf = (k: number) => batches[k % batches.length];
  const images: number[] = [];
  const { times } = await interleave(
    [unmerged, turbo].map((m, i) => ({ label: i ? 'turbo' : 'unmerged', run: ({ round }: { round: number }) => timeBatch(m, batchOf(round), crop) })),
    {
      rounds: pairs,
      warmup: 0,
      afterRound: async (k) => {
        images.push(batchOf(k).size);
        tick(2 * batchOf(k).size);
        await yieldToEventLoop();
      },
    },
  );
  return { images, unmergedSeconds: times[0].wall.map((ms) => ms / 1000), turboSeconds: times[1].wall.map((ms) => ms / 1000) };
}

export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export function accuracy(top5: number[][], labels: number[]): { top1: number; top5: number } {
  let t1 = 0;
  let t5 = 0;
  top5.forEach((row, i) => {
    if (row[0] === labels[i]) t1++;
    if (row.includes(labels[i])) t5++;
  });
  return { top1: (100 * t1) / labels.length, top5: (100 * t5) / labels.length };
}
