// Image preprocessing as the model's config describes it (for ViT-Tiny: RGB, shortest side to 248
// bicubic, centre crop 224, (x/255 − mean)/std), decoded and resized by sharp (libvips).
// Sizes and crop offsets follow torchvision's Resize(int) and CenterCrop, which produced the
// reference numbers, so the same photo lands on the same pixels.
import * as path from 'path';
import sharp from 'sharp';
import { TurboInputError } from '../errors';
import { parseJsonText, readWholeFile, readWholeFileInside, realDirOf } from '../graph/safe_read';
import { Preprocessing, checkPreprocessing, cropOffsets, normalise, resizedSize } from './preprocessing';

export type { Preprocessing };
export { resizedSize };

const KERNELS = { bicubic: 'cubic', bilinear: 'linear', nearest: 'nearest', lanczos: 'lanczos3' } as const;

/**
 * Reads and validates `preprocessing.json` from a model directory: a bounded read of a regular file
 * that stays inside the directory (a link to /dev/zero or another user's file is refused unread).
 */
export async function readPreprocessing(modelDir: string): Promise<Preprocessing> {
  const name = 'preprocessing.json';
  const file = path.join(modelDir, name);
  const bytes = await readWholeFileInside(modelDir, await realDirOf(modelDir), name, 'sidecar');
  return checkPreprocessing(parseJsonText(bytes.toString('utf8'), file), file);
}

/** A JPEG/PNG/WebP file or buffer → float32 CHW [3, crop, crop], normalised. */
export async function preprocessImage(image: string | Buffer, p: Preprocessing): Promise<Float32Array> {
  const name = typeof image === 'string' ? image : '<image buffer>';
  checkPreprocessing(p, 'preprocessing');
  // Read here, not by sharp from the path: a FIFO or /dev/zero would block it or never end.
  const bytes = typeof image === 'string' ? await readWholeFile(image, 'image', 'image not found') : image;
  let pipeline: sharp.Sharp;
  let meta: sharp.Metadata;
  try {
    pipeline = sharp(bytes, { failOn: 'error' });
    meta = await pipeline.metadata();
  } catch (e) {
    throw new TurboInputError(name, `cannot decode image (${(e as Error).message})`);
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
