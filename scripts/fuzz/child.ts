// The node child a fuzz case of the surfaces after the graph one runs in (surface_run.ts starts it):
// a fresh process per case, so a FIFO that blocks a read, a link to /dev/zero that grows memory or
// a crash inside TensorFlow ends one case, not the fuzzer. Every entry goes through the CLIs' own
// runProgram, so errors are classified as the real CLIs classify them; library calls are wrapped
// in a one-command program for the same reason.
//
//   child blip-turbo ARGS...           the real blip-turbo CLI
//   child blip-convert IN OUT ARGS...  blip-turbo convert, then every converted task loaded back
//   child convert-with-turbo ARGS...   the real convert-with-turbo CLI (tuning with --calibrate)
//   child load-savedmodel DIR          loadTurboSavedModel, one predict on zeros
//   child load-oplib MODEL_DIR         loadTurboOpLibrary, then a Turbo graph model run on its kernels
//
// The result (exit code, error kind and file, a failed follow-up) goes to $FUZZ_RESULT as JSON.

import * as fs from 'fs';
import * as path from 'path';
import { Command, CommanderError } from 'commander';
import type * as tfTypes from '@tensorflow/tfjs-core';
import { runProgram } from '../../src/cli/run';
import { TurboInputError } from '../../src/errors';

export interface ChildResult {
  code: number;
  /** The error's kind (input, manifest, graph, options, output), 'usage', 'internal'; absent on success. */
  kind?: string;
  /** The file the error names. */
  file?: string;
  /** Exit 0, but the output it wrote failed when used (only blip-convert checks this). */
  followUp?: string;
}

/** Zeros shaped like the model's first input, unknown dims (-1, null) as 1 (tfjs-node gives dims as strings). */
function zerosFor(tf: typeof tfTypes, input: { shape?: (number | string | null)[]; dtype?: string } | undefined): tfTypes.Tensor {
  const shape = (input?.shape ?? [1, 3, 64, 64]).map((d) => (d === null || !(Number(d) >= 1) ? 1 : Number(d)));
  return tf.zeros(shape, (input?.dtype ?? 'float32') as tfTypes.DataType);
}

function libraryProgram(name: string, arg: string, action: (a: string) => Promise<void>): Command {
  return new Command(name).argument(arg).action(action);
}

async function loadSavedModel(dir: string): Promise<void> {
  const { loadTurboSavedModel } = await import('../../src/savedmodel/load');
  const tf = await import('@tensorflow/tfjs-core');
  const model = await loadTurboSavedModel(dir);
  const x = zerosFor(tf, model.inputs[0]);
  const y = model.predict(x);
  tf.dispose([x, y as tfTypes.Tensor]);
  model.dispose();
}

async function loadOpLibrary(modelDir: string): Promise<void> {
  const { useBackend } = await import('../../src/runtime/backend');
  const { loadTurboOpLibrary } = await import('../../src/native/op_library');
  const { loadTurboModel } = await import('../../src/runtime/load');
  const tf = await import('@tensorflow/tfjs-core');
  await useBackend('tensorflow');
  // The loader never throws; a refusal is its one-line reason, reported as a CLI would.
  const status = loadTurboOpLibrary();
  if (!status.loaded) {
    const file = status.path ?? 'build/native';
    const why = status.error ?? 'not loaded (no reason given)';
    // The reason may already start with the file it is about; name it once.
    throw new TurboInputError(file, why.startsWith(`${file}: `) ? why.slice(file.length + 2) : why);
  }
  const model = await loadTurboModel(modelDir);
  const x = zerosFor(tf, model.inputs[0]);
  const y = model.predict(x);
  tf.dispose([x, ...(Array.isArray(y) ? y : [y as tfTypes.Tensor])]);
  model.dispose();
}

/** After a successful blip-turbo convert: every task in OUT loads (config, tokenizer, graphs). */
async function loadBlipTasks(outDir: string): Promise<string | undefined> {
  const { loadBlip } = await import('../../src/blip/load');
  const { BLIP_TASKS } = await import('../../src/blip/model');
  const { useBackend } = await import('../../src/runtime/backend');
  await useBackend('wasm');
  for (const task of Object.keys(BLIP_TASKS) as (keyof typeof BLIP_TASKS)[]) {
    if (!fs.existsSync(path.join(outDir, task))) continue;
    try {
      (await loadBlip(outDir, task)).dispose();
    } catch (e) {
      return `${task}: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}

async function programFor(entry: string): Promise<Command> {
  switch (entry) {
    case 'blip-turbo':
    case 'blip-convert':
      return (await import('../../src/cli/blip-turbo')).buildProgram();
    case 'convert-with-turbo':
      return (await import('../../src/cli/convert-with-turbo')).buildProgram();
    case 'load-savedmodel':
      return libraryProgram(entry, '<DIR>', loadSavedModel);
    case 'load-oplib':
      return libraryProgram(entry, '<MODEL_DIR>', loadOpLibrary);
  }
  throw new Error(`fuzz child: unknown entry ${entry}`);
}

export async function main(argv: string[]): Promise<void> {
  const [entry, ...rest] = argv;
  const args = entry === 'blip-convert' ? ['convert', ...rest] : rest;
  let error: unknown;
  const code = await runProgram(await programFor(entry), args, { err: (s) => process.stderr.write(s), onError: (e) => (error = e) });
  const result: ChildResult = { code };
  if (code !== 0) {
    result.kind = error instanceof TurboInputError ? error.kind : error instanceof CommanderError ? 'usage' : 'internal';
    if (error instanceof TurboInputError) result.file = error.file;
  } else if (entry === 'blip-convert') {
    result.followUp = await loadBlipTasks(rest[1]);
  }
  fs.writeFileSync(process.env.FUZZ_RESULT!, JSON.stringify(result));
  // tfjs-node and wasm can keep the event loop alive; the result is written, so end here.
  process.exit(code);
}

if (require.main === module) void main(process.argv.slice(2));
