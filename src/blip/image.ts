// BLIP's image preprocessing (BlipImageProcessor): resize to size × size, bicubic, no crop, then
// (x/255 − mean)/std with OpenAI CLIP's statistics. Decoding and resizing by sharp.
import sharp from 'sharp';
import { TurboInputError } from '../errors';
import { readWholeFile } from '../graph/safe_read';
import { normalise } from '../image/preprocessing';
import { BlipImageConfig } from './model';

/** A JPEG/PNG/WebP file or buffer → float32 CHW [3, size, size]. */
export async function blipPixels(image: string | Buffer, p: BlipImageConfig): Promise<Float32Array> {
  const name = typeof image === 'string' ? image : '<image buffer>';
  // sharp given a path opens it itself: a FIFO blocks it for ever, a link to /dev/zero never ends.
  const bytes = typeof image === 'string' ? await readWholeFile(image, 'image', 'image not found') : image;
  let rgb: Buffer;
  try {
    rgb = await sharp(bytes, { failOn: 'error' })
      .removeAlpha()
      .toColourspace('srgb')
      .resize({ width: p.size, height: p.size, fit: 'fill', kernel: 'cubic' })
      .raw()
      .toBuffer();
  } catch (e) {
    throw new TurboInputError(name, `cannot decode image (${(e as Error).message.split('\n')[0]})`);
  }
  return normalise(rgb, p.size, { resize_shortest_side: p.size, center_crop: p.size, mean: p.mean, std: p.std });
}
