// The image side shared by every task: pixels → image tokens (merged by Turbo in a converted model).
import * as tf from '@tensorflow/tfjs-core';
import { BlipModel, ImageInput, runGraph } from './model';

export type { ImageInput };

/** Images (files, buffers, or already preprocessed CHW pixels) → pixel_values [B, 3, S, S]. */
export async function pixelValues(model: BlipModel, images: readonly ImageInput[]): Promise<tf.Tensor4D> {
  const { size } = model.config.image;
  const planes = await Promise.all(
    images.map((im) => {
      if (im instanceof Float32Array) return im;
      if (!model.decodeImage) throw new Error(`${model.dir}: this loader takes preprocessed pixels (Float32Array [3, ${size}, ${size}]), not files`);
      return model.decodeImage(im, model.config.image);
    }),
  );
  const data = new Float32Array(planes.length * 3 * size * size);
  planes.forEach((p, i) => {
    if (p.length !== 3 * size * size) throw new Error(`image ${i}: ${p.length} values, expected 3x${size}x${size}`);
    data.set(p, i * p.length);
  });
  return tf.tensor4d(data, [planes.length, 3, size, size]);
}

/** image_embeds [B, N, D] (N after Turbo's merging) and, where the graph has it, image_feat. */
export async function encodeImages(model: BlipModel, images: readonly ImageInput[], outputs: readonly string[] = ['image_embeds']): Promise<tf.Tensor[]> {
  const pixels = await pixelValues(model, images);
  try {
    return await runGraph(model.graphs.vision, { pixel_values: pixels }, outputs);
  } finally {
    pixels.dispose();
  }
}
