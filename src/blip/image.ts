// BLIP's image preprocessing (BlipImageProcessor): resize to size × size, bicubic, no crop, then
// (x/255 − mean)/std with OpenAI CLIP's statistics. Decoding and resizing by sharp.
import * as fs from 'fs';
import sharp from 'sharp';
import { TurboInputError } from '../errors';
import { normalise } from '../image/preprocessing';
import { BlipImageConfig } from './model';


/** A JPEG/PNG/WebP file or buffer → float32 CHW [3, size, size]. */
export async function blipPixels(image: string | Buffer, p: BlipImageConfig): Promise<Float32Array> {
  const name = typeof image === 'string' ? image : '<image buffer>';
  if (typeof image === 'string' && !fs.existsSync(image)) throw new TurboInputError(name, 'image not found');
  let rgb: Buffer;
  try {
    rgb = await sharp(image, { failOn: 'error' })
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
