// eval-grid's inputs, all checked before any model runs: labels.csv and its images, the model
// directory (model.ts), a snapshot of it that cannot change under a long run; then every image
// decoded and batched.

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { MultiBar } from 'cli-progress';
import { TurboInputError } from '../../../src/errors';
import { Graph } from '../../../src/graph/ir';
import { readGraphModel } from '../../../src/graph/model_io';
import { Labelled, readLabels } from '../../../src/image/labels';
import { Preprocessing, preprocessImage } from '../../../src/image/preprocess';
import { Batch, stack } from './evaluate';
import { checkModelDir, checkSignature, modelDims, modelPreprocessing, plan } from './model';

export interface GridInputs {
  imagesDir: string;
  modelDir: string;
  /** model.json of the user's model (errors name it) and of the snapshot (every configuration reads it). */
  jsonPath: string;
  snapshotJson: string;
  /** The directory holding model.json. */
  modelBase: string;
  modelSha256: string;
  entries: Labelled[];
  labels: number[];
  prep: Preprocessing;
  prepSource: string;
  dims: { hidden: number; mlp: number };
  crop: number;
  baseGraph: Graph;
  /** The unmerged plan (token counts). */
  plan0: ReturnType<typeof plan>;
}

/** Cheap checks first: labels, model, preprocessing; the model copied into `snapshot`. */
export async function checkInputs(imagesDir: string, model: string, limit: number | undefined, snapshot: string, note: (s: string) => void): Promise<GridInputs> {
  imagesDir = path.resolve(imagesDir);
  const modelDir = path.resolve(model);
  const csvPath = path.join(imagesDir, 'labels.csv');
  const entries = (await readLabels(imagesDir)).slice(0, limit ?? Infinity);
  for (const e of entries) {
    if (!fs.existsSync(path.join(imagesDir, e.file))) throw new TurboInputError(path.join(imagesDir, e.file), `image not found (listed on line ${e.line} of labels.csv)`);
  }
  checkModelDir(modelDir);
  const jsonPath = modelDir.endsWith('.json') ? modelDir : path.join(modelDir, 'model.json');
  const modelBase = modelDir.endsWith('.json') ? path.dirname(modelDir) : modelDir;
  const { prep, source: prepSource } = await modelPreprocessing(modelBase, note);
  const dims = modelDims(modelBase, note);
  const crop = prep.center_crop;

  const baseGraph = await readGraphModel(modelDir); // errors name the user's files
  // Every configuration re-reads the model: from a snapshot, so that it cannot change under a long run.
  fs.cpSync(modelBase, snapshot, { recursive: true });
  const snapshotJson = path.join(snapshot, path.basename(jsonPath));
  const modelSha256 = crypto.createHash('sha256').update(fs.readFileSync(snapshotJson)).digest('hex');
  const classes = checkSignature(baseGraph, jsonPath, crop);
  if (classes !== undefined) {
    const bad = entries.find((e) => e.label >= classes);
    if (bad) throw new TurboInputError(csvPath, `line ${bad.line}: label ${bad.label} of '${bad.file}' is out of range for a model with ${classes} classes`);
  }
  const plan0 = plan(baseGraph, jsonPath, 0); // fails early, naming model.json, if it is not a transformer we can rewrite
  const labels = entries.map((e) => e.label);
  return { imagesDir, modelDir, jsonPath, snapshotJson, modelBase, modelSha256, entries, labels, prep, prepSource, dims, crop, baseGraph, plan0 };
}

/** Every image decoded (a TurboInputError naming the file if one cannot be), in batches of `batch`. */
export async function decodeBatches(inputs: GridInputs, batch: number, bars: MultiBar | null): Promise<Batch[]> {
  const { entries, imagesDir, prep } = inputs;
  const prepBar = bars?.create(entries.length, 0, { task: 'decoding images', info: '' });
  const pixels: Float32Array[] = [];
  for (const e of entries) {
    pixels.push(await preprocessImage(path.join(imagesDir, e.file), prep));
    prepBar?.increment(1, { info: e.file });
  }
  prepBar?.stop();
  if (prepBar) bars?.remove(prepBar);
  const batches: Batch[] = [];
  for (let i = 0; i < pixels.length; i += batch) {
    const chunk = pixels.slice(i, i + batch);
    batches.push({ data: stack(chunk), size: chunk.length });
  }
  return batches;
}
