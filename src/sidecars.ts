// The files beside a model.json that its users need and the graph does not hold: how to preprocess
// an image and the class names. convert-with-turbo copies them into the output, so a web page
// loads everything from the Turbo model's URL. Only these names (src/output_dir.ts also accepts
// them in a directory it may replace); regular files only, of bounded size (the input is untrusted).
import * as fsp from 'fs/promises';
import * as path from 'path';
import { TurboInputError } from './errors';
import { parseJsonText, readWholeFile } from './graph/safe_read';
import { checkPreprocessing } from './image/preprocessing';

export const SIDECAR_FILES = ['preprocessing.json', 'imagenet-classes.txt', 'labels.txt'] as const;

/** The sidecar files present in `modelDir`, by name. */
export async function readSidecars(modelDir: string): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const name of SIDECAR_FILES) {
    const file = path.join(modelDir, name);
    const st = await fsp.lstat(file).catch(() => null);
    if (!st) continue;
    if (st.isSymbolicLink()) throw new TurboInputError(file, 'is a symlink; sidecar files must be regular files in the model directory');
    // Opened without blocking and checked with fstat: a file swapped for a FIFO since lstat cannot hang us.
    const data = await readWholeFile(file, 'sidecar');
    // Copied into a model users will preprocess with: refused here, not by their first image.
    if (name === 'preprocessing.json') checkPreprocessing(parseJsonText(data.toString('utf8'), file), file);
    out[name] = data;
  }
  return out;
}
