// Child process for the fresh-process test: load a saved Turbo model with nothing but the files
// on disk and the public API, run the parity inputs, print the logits as JSON.
// Usage: node dist/spec/helpers/run_saved_model.js MODEL_DIR BACKEND

import * as tf from '@tensorflow/tfjs-core';
import { loadTurboModel } from '../../src/runtime/load';
import { BackendName, useBackend } from '../../src/runtime/backend';
import { loadVitTinyParity } from './parity';

async function main() {
  const [dir, backend] = process.argv.slice(2);
  await useBackend(backend as BackendName);
  const model = await loadTurboModel(dir);
  const { inputs } = loadVitTinyParity();
  const logits = (await model.executeAsync({ pixel_values: inputs }, 'logits')) as tf.Tensor;
  process.stdout.write(JSON.stringify(Array.from(await logits.data())));
}

main().catch((e) => {
  process.stderr.write(`${e}\n`);
  process.exitCode = 1;
});
