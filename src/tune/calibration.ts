// A calibration set: the images of a folder, preprocessed as the model expects, with labels when
// the folder has a labels.csv (then only the listed images are used).

import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { OptionsError, TurboInputError } from '../errors';
import { readLabels } from '../image/labels';
import { Preprocessing, preprocessImage } from '../image/preprocess';

export interface CalibrationSet {
  /** [N, 3, H, W], preprocessed. */
  inputs: tf.Tensor4D;
  /** Class index per image, when labels.csv lists it. */
  labels?: (number | undefined)[];
  names: string[];
}

const IMAGE = /\.(jpe?g|png|webp)$/i;

export async function readCalibrationSet(dir: string, prep: Preprocessing, limit?: number, onImage?: (done: number, total: number) => void): Promise<CalibrationSet> {
  if (!fs.existsSync(dir)) throw new OptionsError('--calibrate', `${dir}: not found`);
  if (!fs.statSync(dir).isDirectory()) throw new OptionsError('--calibrate', `${dir}: not a directory (expected a folder of images)`);
  const hasLabels = fs.existsSync(path.join(dir, 'labels.csv'));
  const labelled = hasLabels ? readLabels(dir) : undefined;
  let files = labelled ? labelled.map((l) => l.file) : fs.readdirSync(dir).filter((f) => IMAGE.test(f)).sort();
  if (limit !== undefined) files = files.slice(0, limit);
  if (files.length < 2) throw new OptionsError('--calibrate', `${dir}: ${files.length} image(s); the tuner needs at least 2 (one half to search, one to confirm)`);
  const crop = prep.center_crop;
  const data = new Float32Array(files.length * 3 * crop * crop);
  for (const [i, f] of files.entries()) {
    const file = path.join(dir, f);
    if (!fs.existsSync(file)) throw new TurboInputError(file, 'image not found (listed in labels.csv)');
    data.set(await preprocessImage(file, prep), i * 3 * crop * crop);
    onImage?.(i + 1, files.length);
  }
  const labels = labelled?.slice(0, files.length).map((l) => l.label);
  return { inputs: tf.tensor4d(data, [files.length, 3, crop, crop]), labels, names: files };
}
