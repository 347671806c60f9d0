// BLIP's image preprocessing (BlipImageProcessor): resize to size × size, bicubic, no crop, then
// (x/255 − mean)/std with OpenAI CLIP's statistics. Decoding and resizing live in src/image.
import { decodeResizedRgb } from '../image/preprocess';
import { normalise } from '../image/preprocessing';
import { BlipImageConfig } from './model';

/** A JPEG/PNG/WebP file or buffer → float32 CHW [3, size, size]. */
export async function blipPixels(image: string | Buffer, p: BlipImageConfig): Promise<Float32Array> {
  const rgb = await decodeResizedRgb(image, p.size, p.size);
  return normalise(rgb, p.size, { resize_shortest_side: p.size, center_crop: p.size, mean: p.mean, std: p.std });
}
