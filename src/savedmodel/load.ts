// loadTurboSavedModel: a SavedModel written by `convert-with-turbo --format savedmodel`, run by
// TensorFlow through tfjs-node in one session call per predict. A Turbo model needs the native
// op library loaded into that TensorFlow first (src/native/op_library.ts); without it TensorFlow
// fails with "Op type not registered 'TurboMerge'", so we say what to do instead.
//
// tfjs-node and the op library are loaded only here, when called: importing tfjs-turbo never needs them.

import * as path from 'path';
import type { NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';
import { TurboInputError } from '../errors';
import { loadTurboOpLibrary } from '../native/op_library';
import { tryLoadNativeBackend } from '../runtime/backend';
import { NATIVE_TURBO_OPS as TURBO_OPS } from '../ops/op_sets';
import { SAVED_MODEL_PB, readSavedModelDir } from './read_dir';
import { SERVE_TAG, SERVING_SIGNATURE } from './signature';

/** What tf.node.loadSavedModel returns, as far as we use it (tfjs-node's TFSavedModel). */
export interface TurboSavedModel {
  predict(inputs: Tensor | Tensor[] | NamedTensorMap): Tensor | Tensor[] | NamedTensorMap;
  readonly inputs: { name: string; shape?: number[]; dtype: string }[];
  readonly outputs: { name: string; shape?: number[]; dtype: string }[];
  dispose(): void;
}

export async function loadTurboSavedModel(dir: string): Promise<TurboSavedModel> {
  const data = await readSavedModelDir(dir);
  if (!tryLoadNativeBackend()) {
    throw new TurboInputError(dir, 'loading a SavedModel needs @tensorflow/tfjs-node: run `npm run setup:native`');
  }
  const needed = turboOpsIn(data);
  if (needed.length) {
    const status = loadTurboOpLibrary();
    if (!status.loaded) throw new TurboInputError(dir, `uses ${needed.join(', ')}, but ${status.error ?? 'the Turbo op library is not loaded'}`);
  }
  try {
    return await tfjsNode().node.loadSavedModel(dir, [SERVE_TAG], SERVING_SIGNATURE);
  } catch (e) {
    // What readSavedModelDir cannot foresee (tfjs-node's stricter parser, a graph TensorFlow rejects)
    // still names the file rather than surfacing as a bare "Assertion failed".
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);
    throw new TurboInputError(path.join(dir, SAVED_MODEL_PB), `TensorFlow cannot load it (${message})`);
  }
}

type TfjsNode = { node: { loadSavedModel(dir: string, tags: string[], signature: string): Promise<TurboSavedModel> } };

/** The tfjs-node package tryLoadNativeBackend loaded (same order: -gpu first). */
export function tfjsNode(): TfjsNode {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      return require(pkg) as TfjsNode;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  throw new Error('@tensorflow/tfjs-node is not installed: run `npm run setup:native`');
}

/**
 * The Turbo op names occurring in the serialized model. A byte search rather than a parse: op
 * names are stored as plain strings in each NodeDef, and a ViT-B SavedModel is 350 MB of mostly
 * weights. A stray match in weight bytes only means the library is loaded when not needed.
 */
function turboOpsIn(data: Buffer): string[] {
  return [...TURBO_OPS].filter((op) => data.includes(op, 0, 'latin1'));
}
