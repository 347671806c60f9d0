// A calibration set: the images of a folder, preprocessed as the model expects, with labels when
// the folder has a labels.csv (then only the listed images are used).

import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { TurboInputError } from '../errors';
import { readWholeFileInside, realDirOf } from '../graph/safe_read';
import { readLabels } from '../image/labels';
import { Preprocessing, preprocessImage } from '../image/preprocess';
import { checkPreprocessing } from '../image/preprocessing';

export interface CalibrationSet {
  /** [N, 3, H, W], preprocessed. */
  inputs: tf.Tensor4D;
  /** Class index per image, when labels.csv lists it. */
  labels?: (number | undefined)[];
  names: string[];
}

const IMAGE = /\.(jpe?g|png|webp)$/i;

/** Images decoded at once (sharp runs each on a libuv thread; more only queues). */
const DECODES_IN_FLIGHT = 4;

export async function readCalibrationSet(dir: string, prep: Preprocessing, limit?: number, onImage?: (done: number, total: number) => void): Promise<CalibrationSet> {
  // Checked before anything is read: the buffer below is sized by the crop.
  checkPreprocessing(prep, 'preprocessing');
  const st = fs.statSync(dir, { throwIfNoEntry: false });
  if (!st) throw new TurboInputError(dir, 'calibration folder not found');
  if (!st.isDirectory()) throw new TurboInputError(dir, 'is not a directory; calibration images come in a folder');
  // lstat, not exists: a dangling labels.csv link is refused by readLabels, not taken for "no labels".
  const hasLabels = fs.lstatSync(path.join(dir, 'labels.csv'), { throwIfNoEntry: false }) !== undefined;
  const labelled = hasLabels ? await readLabels(dir) : undefined;
  let files = labelled ? labelled.map((l) => l.file) : fs.readdirSync(dir).filter((f) => IMAGE.test(f)).sort();
  if (limit !== undefined) files = files.slice(0, limit);
  if (files.length < 2) throw new TurboInputError(dir, `holds ${files.length} calibration image(s); the tuner needs at least 2 (one half to search, one to confirm)`);
  const crop = prep.center_crop;
  const data = new Float32Array(files.length * 3 * crop * crop);
  const realDir = await realDirOf(dir);
  // Decoding is most of the reading time and sharp decodes on libuv's thread pool: a few images in
  // flight keep every core busy, and each lands at its own offset, so the order is the files' order.
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      const f = files[i];
      // Names come from labels.csv, which is as untrusted as a model: regular files inside the folder only.
      const bytes = await readWholeFileInside(dir, realDir, f, 'image', labelled ? 'image not found (listed in labels.csv)' : 'not found');
      try {
        data.set(await preprocessImage(bytes, prep), i * 3 * crop * crop);
      } catch (e) {
        if (e instanceof TurboInputError) throw new TurboInputError(path.join(dir, f), e.problem);
        throw e;
      }
      onImage?.(++done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODES_IN_FLIGHT, files.length) }, worker));
  const labels = labelled?.slice(0, files.length).map((l) => l.label);
  return { inputs: tf.tensor4d(data, [files.length, 3, crop, crop]), labels, names: files };
}
