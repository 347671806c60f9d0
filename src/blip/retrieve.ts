// Image-text retrieval as BLIP does it: rank every text by ITC similarity (normalised image and
// text features), then re-rank each image's top k by the ITM head (cross-attention over the image
// tokens), whose match probability is the final score.
import * as tf from '@tensorflow/tfjs-core';
import { TurboInputError } from '../errors';
import { BlipModel, idsTensor, runGraph } from './model';
import { encodeImages, ImageInput } from './vision';
import { topK } from './generate';

export interface RetrieveOptions {
  /** Texts per image re-ranked by ITM (default 16, at most the number of texts). */
  k?: number;
  onImage?: (done: number, total: number) => void;
}

export interface Ranked {
  text: number;
  itc: number;
  /** ITM match probability (softmax of the two logits, class 1). */
  itm: number;
}

/** Reads a tensor's values and disposes it. */
async function take(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** For each image, its top k texts, best ITM score first. */
export async function retrieve(model: BlipModel, images: readonly ImageInput[], texts: readonly string[], options: RetrieveOptions = {}): Promise<Ranked[][]> {
  const requested = options.k ?? 16;
  if (!Number.isInteger(requested) || requested < 1) throw new TurboInputError(model.dir, `retrieve: k must be a whole number of at least 1, got ${requested}`);
  if (texts.length === 0 || images.length === 0) return images.map(() => []);
  const k = Math.min(requested, texts.length);
  const batch = model.tokenizer.encodeBatch(texts);
  const ids = idsTensor(batch.ids);
  const mask = idsTensor(batch.mask);
  const made: tf.Tensor[] = [ids, mask];
  const results: Ranked[][] = [];
  try {
    const [textFeat] = await runGraph(model.graphs.text, { input_ids: ids, attention_mask: mask }, ['text_feat']);
    made.push(textFeat);
    for (let i = 0; i < images.length; i++) {
      const perImage = await encodeImages(model, [images[i]], ['image_embeds', 'image_feat']);
      const [imageEmbeds, imageFeat] = perImage;
      try {
        const itc = await take(tf.matMul(imageFeat, textFeat, false, true));
        const top = topK(itc, k);
        const pick = tf.tensor1d(top, 'int32');
        const topIds = tf.gather(ids, pick);
        const topMask = tf.gather(mask, pick);
        const tokens = tf.tile(imageEmbeds, [k, 1, 1]);
        perImage.push(pick, topIds, topMask, tokens);
        const [logits] = await runGraph(model.graphs.itm, { input_ids: topIds, attention_mask: topMask, image_embeds: tokens }, ['itm_logits']);
        perImage.push(logits);
        const probs = await take(tf.softmax(logits));
        const ranked = top.map((t, j) => ({ text: t, itc: itc[t], itm: probs[j * 2 + 1] }));
        results.push(ranked.sort((a, b) => b.itm - a.itm));
      } finally {
        tf.dispose(perImage);
      }
      options.onImage?.(i + 1, images.length);
    }
  } finally {
    tf.dispose(made);
  }
  return results;
}
