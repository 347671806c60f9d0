// loadTurboSavedModel in a plain node child (spec/helpers/node_child.ts): tfjs-node and the op
// library load once per process, and a TensorFlow that hangs or aborts fails one test, not jest.
import * as tf from '@tensorflow/tfjs-core';
import { loadTurboOpLibrary } from '../../src/native/op_library';
import { loadTurboSavedModel } from '../../src/savedmodel/load';

export interface LoadOutcome {
  /** y for x = [[1, 2]] when the model loaded and ran. */
  output?: number[];
  /** The error's class and message when it did not. */
  error?: { name: string; message: string };
}

/** Loads `dir` (after loading the op library from `buildDir`, when given) and runs it once. */
export async function loadAndRun(dir: string, buildDir?: string): Promise<LoadOutcome> {
  process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  if (buildDir) loadTurboOpLibrary(buildDir);
  try {
    const model = await loadTurboSavedModel(dir);
    const y = model.predict(tf.tensor2d([[1, 2]])) as tf.Tensor;
    const output = Array.from(await y.data());
    model.dispose();
    return { output };
  } catch (e) {
    return { error: { name: (e as Error).name, message: (e as Error).message } };
  }
}
