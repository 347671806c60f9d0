// One decoding step as generate() calls it: rows of token ids (B prompts × beams, all one length)
// → the decoder graph's last-position logits per row. Each row reads the states of its own batch
// item (rows come grouped by item), gathered per step.
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { GenerateOptions, StepFn, generate } from './generate';
import { OptionsError } from '../errors';
import { BlipModel, idsTensor, runGraph } from './model';

type Feeds = (rowsOf: (t: tf.Tensor) => tf.Tensor, ids: tf.Tensor2D, mask: tf.Tensor2D) => Record<string, tf.Tensor>;

export function decoderStep(decoder: GraphModel, batch: number, feeds: Feeds): StepFn {
  return async (rows) => {
    const perItem = rows.length / batch;
    const owner = tf.tensor1d(rows.map((_, r) => Math.floor(r / perItem)), 'int32');
    const made: tf.Tensor[] = [owner];
    const rowsOf = (t: tf.Tensor) => {
      if (perItem === 1) return t;
      const g = tf.gather(t, owner);
      made.push(g);
      return g;
    };
    const ids = idsTensor(rows);
    const mask = tf.onesLike(ids);
    made.push(ids, mask);
    try {
      const [logits] = await runGraph(decoder, feeds(rowsOf, ids, mask), ['logits']);
      const data = (await logits.data()) as Float32Array;
      logits.dispose();
      const vocab = data.length / rows.length;
      return rows.map((_, i) => data.subarray(i * vocab, (i + 1) * vocab));
    } finally {
      tf.dispose(made);
    }
  };
}

export interface DecodeOptions {
  maxLength?: number;
  minLength?: number;
  beams?: number;
  onStep?: GenerateOptions['onStep'];
}

/** generate() with the model's special tokens and transformers' defaults (max_length 20, greedy), decoded to text. */
export async function decodeTexts(model: BlipModel, prompts: number[][], step: StepFn, options: DecodeOptions): Promise<{ text: string; ids: number[] }[]> {
  checkDecodeOptions(model, prompts[0]?.length ?? 0, options);
  const sequences = await generate(prompts, step, {
    maxLength: options.maxLength ?? 20,
    minLength: options.minLength,
    numBeams: options.beams ?? 1,
    eosTokenId: model.config.eosId,
    padTokenId: model.config.padId,
    onStep: options.onStep,
  });
  return sequences.map((ids) => ({ text: model.tokenizer.decode(ids), ids }));
}

/**
 * Refuses settings the loop cannot honour before any work: the last step feeds maxLength − 1
 * tokens, so maxLength may exceed the model's positions by one, and must exceed the prompt.
 */
export function checkDecodeOptions(model: BlipModel, promptLength: number, options: DecodeOptions): void {
  const maxLength = options.maxLength ?? 20;
  const most = model.config.maxTextLength + 1;
  if (!Number.isInteger(maxLength) || maxLength <= promptLength || maxLength > most) {
    throw new OptionsError('maxLength', `${maxLength} must be a whole number above the prompt's ${promptLength} token(s) and at most ${most} (the model has ${model.config.maxTextLength} positions)`);
  }
  const beams = options.beams ?? 1;
  if (!Number.isInteger(beams) || beams < 1) throw new OptionsError('beams', `${beams} must be a whole number of at least 1`);
  const minLength = options.minLength ?? 0;
  if (!Number.isInteger(minLength) || minLength < 0) throw new OptionsError('minLength', `${minLength} must be a whole number of at least 0`);
}
