// Where a SavedModel may be written: the rules of src/output_dir.ts (real paths, exclusive claim,
// --force replaces only what a converter wrote), extended to directories holding a SavedModel,
// which output_dir's graph-model check would refuse to replace.

import * as fsp from 'fs/promises';
import * as path from 'path';
import { OutputError, TurboInputError } from '../errors';
import { checkReplaceable, moveIntoPlace, outputFailure } from '../output_dir';

const REPLACE_RULE = '--force replaces only a directory holding a SavedModel or a tfjs graph model';
/** Files TensorFlow's SavedModel writers put at the top level of the directory. */
const SAVED_MODEL_FILES = new Set(['saved_model.pb', 'saved_model.pbtxt', 'fingerprint.pb', 'keras_metadata.pb', 'README.md']);
const SAVED_MODEL_DIRS = new Set(['variables', 'assets', 'assets.extra']);

/** Whether `outDir` exists, after checking it may be replaced (absent; or, with `force`, a model directory). */
export async function checkSavedModelReplaceable(outDir: string, force: boolean): Promise<boolean> {
  try {
    return await checkReplaceable(outDir, force);
  } catch (e) {
    // Not a graph model directory: it may still be a SavedModel directory, which --force may replace.
    if (!(e instanceof OutputError) || !force) throw e;
    if (await isSavedModelDir(outDir)) return true;
    throw new OutputError(outDir, e.problem.replace(/--force replaces only .*$/, REPLACE_RULE));
  }
}

async function isSavedModelDir(dir: string): Promise<boolean> {
  const st = await fsp.lstat(dir).catch(() => undefined);
  if (!st || !st.isDirectory() || st.isSymbolicLink()) return false;
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries || !entries.some((e) => e.name === 'saved_model.pb' && e.isFile())) return false;
  for (const e of entries) {
    if (e.isFile() && SAVED_MODEL_FILES.has(e.name)) continue;
    if (e.isDirectory() && SAVED_MODEL_DIRS.has(e.name) && (await onlyFiles(path.join(dir, e.name)))) continue;
    return false;
  }
  return true;
}

/** A sub-directory of plain files only (variables/ holds variables.index and data shards). */
async function onlyFiles(dir: string): Promise<boolean> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => undefined);
  return !!entries && entries.every((e) => e.isFile());
}

/** Moves the finished temporary directory into place, replacing an existing model directory when `force`. */
export async function moveSavedModelIntoPlace(tmp: string, target: string, force: boolean): Promise<void> {
  const exists = await checkSavedModelReplaceable(target, force);
  // A new target: output_dir's exclusive claim. An existing graph model: output_dir replaces it.
  if (!exists || (await isGraphModelDir(target))) return moveIntoPlace(tmp, target, force);
  const old = `${target}.old-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await fsp.rename(target, old);
  } catch (e) {
    throw outputFailure(target, 'move the old model aside', e);
  }
  try {
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rename(old, target).catch(() => undefined);
    throw outputFailure(target, 'move the new model into place', e);
  }
  await fsp.rm(old, { recursive: true, force: true });
}

async function isGraphModelDir(dir: string): Promise<boolean> {
  return checkReplaceable(dir, true).then(
    () => true,
    (e) => {
      if (e instanceof TurboInputError) return false;
      throw e;
    },
  );
}
