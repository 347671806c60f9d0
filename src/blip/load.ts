// Loading a BLIP model directory in Node: config.json and tokenizer.json read like any input
// (regular files, bounded), the task's graphs through loadTurboModel, images decoded by sharp.
import * as path from 'path';
import { TurboInputError } from '../errors';
import { readRegularFile } from '../graph/safe_read';
import { loadTurboModel } from '../runtime/load';
import { blipPixels } from './image';
import { BlipConfig, BlipModel, BlipTask, loadTaskGraphs, parseBlipConfig } from './model';
import { BlipTokenizer } from './tokenizer';

const MAX_SIDE_FILE_BYTES = 64 * 1024 * 1024;

/** config.json or tokenizer.json, whole: a regular file, refused past 64 MiB rather than cut. */
export async function readBlipFile(file: string): Promise<Buffer> {
  const { data, size } = await readRegularFile(file, MAX_SIDE_FILE_BYTES);
  if (size > MAX_SIDE_FILE_BYTES) throw new TurboInputError(file, `is ${size} bytes, more than the ${MAX_SIDE_FILE_BYTES} allowed`);
  return data;
}

async function readJson(file: string): Promise<unknown> {
  const data = await readBlipFile(file);
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw new TurboInputError(file, `is not valid JSON (${(e as Error).message})`);
  }
}

export async function readBlipConfig(dir: string): Promise<BlipConfig> {
  const file = path.join(dir, 'config.json');
  return parseBlipConfig(await readJson(file), file);
}

export async function loadBlipTokenizer(dir: string, config: BlipConfig): Promise<BlipTokenizer> {
  const file = path.join(dir, 'tokenizer.json');
  return BlipTokenizer.fromJson(await readJson(file), file, config.maxTextLength, config.padId);
}

/** Loads the config, the tokenizer and the task's graphs (Turbo or not; the Turbo ops are registered). */
export async function loadBlip(dir: string, task: BlipTask): Promise<BlipModel> {
  const config = await readBlipConfig(dir);
  const tokenizer = await loadBlipTokenizer(dir, config);
  const graphs = await loadTaskGraphs(task, (part) => loadTurboModel(path.join(dir, task, part)));
  return {
    dir,
    task,
    config,
    tokenizer,
    graphs,
    decodeImage: (image, c) => blipPixels(typeof image === 'string' ? image : Buffer.from(image), c),
    dispose: () => Object.values(graphs).forEach((g) => g.dispose()),
  };
}
