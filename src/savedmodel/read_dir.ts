// A SavedModel directory checked before TensorFlow sees it. TensorFlow opens saved_model.pb,
// fingerprint.pb and, when the graph has variables, variables/ with plain blocking reads: a FIFO
// there hangs the process, a link to /dev/zero grows memory without bound, and garbage comes back
// as "Assertion failed" or "Invalid wire type" from tfjs-node's parser with no file named. So every
// file TensorFlow will open is checked here first (regular, inside the directory, saved_model.pb
// bounded and decoded), and each problem is one line naming the file.

import * as fsp from 'fs/promises';
import * as path from 'path';
import { TurboInputError } from '../errors';
import { readFileInside, readWholeFileInside, realDirOf } from '../graph/safe_read';
import { protoType } from './proto';
import { SERVE_TAG, SERVING_SIGNATURE } from './signature';

export const SAVED_MODEL_PB = 'saved_model.pb';

/** The fields of a decoded SavedModel that decide whether tfjs-node can load it. */
interface MetaGraph {
  metaInfoDef?: { tags?: string[] };
  signatureDef?: Record<string, unknown>;
  saverDef?: unknown;
}

/**
 * saved_model.pb of `dir`, after checking that it is a SavedModel with a serving_default signature
 * under the serve tag, and that the other files TensorFlow will open are regular files inside `dir`.
 */
export async function readSavedModelDir(dir: string): Promise<Buffer> {
  const realDir = await realDirOf(dir);
  const data = await readWholeFileInside(dir, realDir, SAVED_MODEL_PB, 'savedModelPb', 'not found; expected a SavedModel directory');
  const meta = serveMetaGraph(data, path.join(dir, SAVED_MODEL_PB));
  // TensorFlow 2.12 reads fingerprint.pb when present (a FIFO there hangs its loader).
  await checkOptionalFile(dir, realDir, 'fingerprint.pb');
  if (meta.saverDef) await checkVariables(dir, realDir);
  return data;
}

/** The MetaGraph tfjs-node's loadSavedModel(dir, ['serve'], 'serving_default') will pick. */
function serveMetaGraph(data: Buffer, file: string): MetaGraph {
  const metaGraphs = decodeSavedModel(data, file).metaGraphs ?? [];
  // tfjs-node matches the tag set exactly, not by inclusion.
  const meta = metaGraphs.find((m) => m.metaInfoDef?.tags?.length === 1 && m.metaInfoDef.tags[0] === SERVE_TAG);
  if (!meta) throw new TurboInputError(file, `has no MetaGraph tagged ${SERVE_TAG}`);
  if (!meta.signatureDef?.[SERVING_SIGNATURE]) throw new TurboInputError(file, `its ${SERVE_TAG} MetaGraph has no ${SERVING_SIGNATURE} signature`);
  return meta;
}

function decodeSavedModel(data: Buffer, file: string): { metaGraphs?: MetaGraph[] } {
  if (data.length === 0) throw new TurboInputError(file, 'is empty; not a SavedModel protobuf');
  try {
    return protoType('SavedModel').decode(data) as unknown as { metaGraphs?: MetaGraph[] };
  } catch (e) {
    // protobufjs says "index out of range" when a length runs past the end of the data.
    const message = e instanceof Error ? e.message : String(e);
    const why = e instanceof RangeError && /index out of range/.test(message) ? 'truncated, or not protobuf' : message;
    throw new TurboInputError(file, `not a SavedModel protobuf (${why.slice(0, 200)})`);
  }
}

/** A file TensorFlow opens only when it exists: absent is fine, anything but a regular file inside `dir` is not. */
async function checkOptionalFile(dir: string, realDir: string, name: string): Promise<void> {
  const exists = await fsp.lstat(path.join(dir, name)).then(
    () => true,
    (e: NodeJS.ErrnoException) => e.code !== 'ENOENT',
  );
  if (exists) await readFileInside(dir, realDir, name, 0);
}

/**
 * A graph with a saver_def restores variables/variables.index and its data shards. Without the
 * index TensorFlow restores nothing and says so only in its log; predict then fails on an
 * uninitialised variable, so a missing index is refused here.
 */
async function checkVariables(dir: string, realDir: string): Promise<void> {
  const index = path.join('variables', 'variables.index');
  await readFileInside(dir, realDir, index, 0, 'not found; the graph restores variables (it has a saver_def) but the checkpoint is missing');
  const variables = path.join(dir, 'variables');
  const names = await fsp.readdir(variables).catch((e: NodeJS.ErrnoException) => {
    throw new TurboInputError(variables, `cannot be listed (${e.code ?? e.message})`);
  });
  for (const name of names.filter((n) => n.startsWith('variables.data-'))) {
    await readFileInside(dir, realDir, path.join('variables', name), 0);
  }
}
