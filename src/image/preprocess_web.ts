// Preprocessing in the browser: an image element, canvas, ImageBitmap, ImageData or an [H, W, 3|4]
// tensor of 0-255 values → the model input [1, 3, crop, crop]. The pixels are read at their natural
// size and resized in JS (preprocessing.ts), not by the canvas, whose resampling differs by browser.
import * as tf from '@tensorflow/tfjs-core';
import { parseJsonText } from '../json_text';
import { Pixels, Preprocessing, checkPreprocessing, preprocessPixels } from './preprocessing';

export { preprocessPixels };

/** Anything with RGBA bytes and a size (ImageData, or a look-alike outside the DOM). */
export interface ImageDataLike {
  data: ArrayLike<number>;
  width: number;
  height: number;
}

export type ImageSource = ImageDataLike | tf.Tensor3D | CanvasImageSource | OffscreenCanvas;

/** Fetches `preprocessing.json` from a model directory URL (with or without a trailing slash or model.json). */
export async function loadPreprocessing(modelUrl: string, init?: RequestInit): Promise<Preprocessing> {
  const base = modelUrl.replace(/model\.json$/, '').replace(/\/?$/, '/');
  const url = `${base}preprocessing.json`;
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return checkPreprocessing(parseJsonText(await res.text(), url), url);
}

/** One image → float32 [1, 3, crop, crop], normalised as the model's preprocessing.json says. */
export async function preprocess(source: ImageSource, p: Preprocessing): Promise<tf.Tensor4D> {
  const pixels = await readPixels(source);
  const crop = p.center_crop;
  return tf.tensor4d(preprocessPixels(pixels, p), [1, 3, crop, crop]);
}

async function readPixels(source: ImageSource): Promise<Pixels> {
  if (source instanceof tf.Tensor) {
    const [height, width, channels] = source.shape;
    if (source.rank !== 3 || (channels !== 3 && channels !== 4)) {
      throw new Error(`preprocess: a tensor must be [H, W, 3 or 4] with values 0-255, got shape [${source.shape}]`);
    }
    return { data: await source.data(), width, height, channels };
  }
  if (isImageData(source)) return { data: source.data, width: source.width, height: source.height, channels: 4 };
  const { width, height } = naturalSize(source);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('preprocess: no 2d canvas context');
  ctx.drawImage(source, 0, 0);
  return { data: ctx.getImageData(0, 0, width, height).data, width, height, channels: 4 };
}

function isImageData(s: unknown): s is ImageDataLike {
  const d = s as ImageDataLike;
  return typeof d?.width === 'number' && typeof d?.height === 'number' && d.data !== undefined && typeof d.data.length === 'number';
}

function naturalSize(s: CanvasImageSource | OffscreenCanvas): { width: number; height: number } {
  if (typeof HTMLImageElement !== 'undefined' && s instanceof HTMLImageElement) {
    if (!s.complete || !s.naturalWidth) throw new Error('preprocess: the image has not loaded (await img.decode() first)');
    return { width: s.naturalWidth, height: s.naturalHeight };
  }
  if (typeof HTMLVideoElement !== 'undefined' && s instanceof HTMLVideoElement) return { width: s.videoWidth, height: s.videoHeight };
  const { width, height } = s as { width: number | SVGAnimatedLength; height: number | SVGAnimatedLength };
  if (typeof width !== 'number' || typeof height !== 'number') throw new Error('preprocess: unsupported image source');
  return { width, height };
}
