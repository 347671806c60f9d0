// Image preprocessing as the model's config describes it (for ViT-Tiny: RGB, shortest side to 248
// bicubic, centre crop 224, (x/255 − mean)/std), decoded and resized by sharp (libvips).
// Sizes and crop offsets follow torchvision's Resize(int) and CenterCrop, which produced the
// reference numbers, so the same photo lands on the same pixels.
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { TurboInputError } from '../errors';
import { readJsonFile } from '../json_file';
import { Preprocessing, cropOffsets, normalise, resizedSize } from './preprocessing';

export type { Preprocessing };
export { resizedSize };

const KERNELS = { bicubic: 'cubic', bilinear: 'linear', nearest: 'nearest', lanczos: 'lanczos3' } as const;

/** Reads `preprocessing.json` from a model directory. */
export function readPreprocessing(modelDir: string): Preprocessing {
  const file = path.join(modelDir, 'preprocessing.json');
  const p = readJsonFile(file) as Preprocessing;
  if (!(p.resize_shortest_side > 0) || !(p.center_crop > 0) || p.mean?.length !== 3 || p.std?.length !== 3) {
    throw new TurboInputError(file, 'needs resize_shortest_side, center_crop, mean[3] and std[3]');
  }
  return p;
}

/** A JPEG/PNG/WebP file or buffer → float32 CHW [3, crop, crop], normalised. */
export async function preprocessImage(image: string | Buffer, p: Preprocessing): Promise<Float32Array> {
  const name = typeof image === 'string' ? image : '<image buffer>';
  // sharp reports a missing file as a decode failure; say what it is.
  if (typeof image === 'string' && !fs.existsSync(image)) throw new TurboInputError(name, 'image not found');
  let pipeline: sharp.Sharp;
  let meta: sharp.Metadata;
  try {
    pipeline = sharp(image, { failOn: 'error' });
    meta = await pipeline.metadata();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TurboInputError(name, code === 'ENOENT' ? 'image not found' : `cannot decode image (${(e as Error).message})`);
  }
  if (!meta.width || !meta.height) throw new TurboInputError(name, 'image has no size');
  const size = resizedSize(meta.width, meta.height, p.resize_shortest_side);
  const crop = p.center_crop;
  if (size.width < crop || size.height < crop) throw new TurboInputError(name, `resized image ${size.width}x${size.height} is smaller than the crop ${crop}`);
  const { left, top } = cropOffsets(size, crop);
  let rgb: Buffer;
  try {
    rgb = await pipeline
      .removeAlpha()
      .toColourspace('srgb')
      .resize({ ...size, fit: 'fill', kernel: KERNELS[p.interpolation ?? 'bicubic'] })
      .extract({ left, top, width: crop, height: crop })
      .raw()
      .toBuffer();
  } catch (e) {
    throw new TurboInputError(name, `cannot decode image (${(e as Error).message})`);
  }
  if (rgb.length !== crop * crop * 3) throw new TurboInputError(name, `decoded to ${rgb.length} bytes, expected ${crop * crop * 3} (RGB)`);
  return normalise(rgb, crop, p);
}
