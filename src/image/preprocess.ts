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
  checkPreprocessing(p, 'preprocessing');
  const { name, pipeline, meta } = await openImage(image);
  const size = resizedSize(meta.width, meta.height, p.resize_shortest_side);
  const crop = p.center_crop;
  if (size.width < crop || size.height < crop) throw new TurboInputError(name, `resized image ${size.width}x${size.height} is smaller than the crop ${crop}`);
  const { left, top } = cropOffsets(size, crop);
  const rgb = await rgbOf(name, pipeline.resize({ ...size, fit: 'fill', kernel: KERNELS[p.interpolation ?? 'bicubic'] }).extract({ left, top, width: crop, height: crop }), crop, crop);
  return normalise(rgb, crop, p);
}

/**
 * RGB bytes [height·width·3] of an image resized to exactly width × height, aspect ignored and
 * nothing cropped: BLIP's image processor.
 */
export async function decodeResizedRgb(image: string | Buffer, width: number, height: number, interpolation: keyof typeof KERNELS = 'bicubic'): Promise<Buffer> {
  const { name, pipeline } = await openImage(image);
  return rgbOf(name, pipeline.resize({ width, height, fit: 'fill', kernel: KERNELS[interpolation] }), width, height);
}

/** The image's bytes read here, not by sharp from the path: a FIFO or /dev/zero would block it or never end. */
async function openImage(image: string | Buffer): Promise<{ name: string; pipeline: sharp.Sharp; meta: { width: number; height: number } }> {
  const name = typeof image === 'string' ? image : '<image buffer>';
  const bytes = typeof image === 'string' ? await readWholeFile(image, 'image', 'image not found') : image;
  let pipeline: sharp.Sharp;
  let meta: sharp.Metadata;
  try {
    pipeline = sharp(bytes, { failOn: 'error' });
    meta = await pipeline.metadata();
  } catch (e) {
    throw new TurboInputError(name, `cannot decode image (${firstLine(e)})`);
  }
  if (!meta.width || !meta.height) throw new TurboInputError(name, 'image has no size');
  return { name, pipeline: pipeline.removeAlpha().toColourspace('srgb'), meta: { width: meta.width, height: meta.height } };
}

async function rgbOf(name: string, pipeline: sharp.Sharp, width: number, height: number): Promise<Buffer> {
  let rgb: Buffer;
  try {
    rgb = await pipeline.raw().toBuffer();
  } catch (e) {
    throw new TurboInputError(name, `cannot decode image (${firstLine(e)})`);
  }
  if (rgb.length !== width * height * 3) throw new TurboInputError(name, `decoded to ${rgb.length} bytes, expected ${width * height * 3} (RGB)`);
  return rgb;
}

const firstLine = (e: unknown) => (e as Error).message.split('\n')[0];
