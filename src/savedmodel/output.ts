// Where a SavedModel may be written: the rules of src/output_dir.ts (real paths, exclusive claim,
// --force replaces only what a converter wrote), with a SavedModel directory as one more kind of
// model directory that --force may replace.

import * as fsp from 'fs/promises';
import * as path from 'path';
import { GRAPH_MODEL_DIR, ModelDirKind, checkReplaceable } from '../output_dir';

/** Files TensorFlow's SavedModel writers put at the top level of the directory. */
const SAVED_MODEL_FILES = new Set(['saved_model.pb', 'saved_model.pbtxt', 'fingerprint.pb', 'keras_metadata.pb', 'README.md']);
const SAVED_MODEL_DIRS = new Set(['variables', 'assets', 'assets.extra']);

export const SAVED_MODEL_DIR: ModelDirKind = {
  what: 'a SavedModel',
  problem: async (dir, entries) => {
    if (!entries.some((e) => e.name === 'saved_model.pb' && e.isFile())) return 'holds no saved_model.pb';
    for (const e of entries) {
      if (e.isFile() && SAVED_MODEL_FILES.has(e.name)) continue;
      if (e.isDirectory() && SAVED_MODEL_DIRS.has(e.name) && (await onlyFiles(path.join(dir, e.name)))) continue;
      return `holds '${e.name}', which is not part of a SavedModel`;
    }
    return undefined;
  },
};

/** A SavedModel may replace a SavedModel or a graph model directory, as a graph model may. */
export const SAVED_MODEL_KINDS = [SAVED_MODEL_DIR, GRAPH_MODEL_DIR];

/** Whether `outDir` exists, after checking it may be replaced (absent; or, with `force`, a model directory). */
export const checkSavedModelReplaceable = (outDir: string, force: boolean) => checkReplaceable(outDir, force, SAVED_MODEL_KINDS);

/** A sub-directory of plain files only (variables/ holds variables.index and data shards). */
async function onlyFiles(dir: string): Promise<boolean> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => undefined);
  return !!entries && entries.every((e) => e.isFile());
}
