// Loading a BLIP model directory in Node: config.json and tokenizer.json read like any input
// (regular files inside the directory, bounded) and validated, the task's graphs checked against
// config.json before tfjs sees them, images read by the bounded reader and decoded by sharp.
import * as path from 'path';
import { readModelJsonOnly } from '../graph/model_io';
import { parseJsonText, readWholeFileInside, realDirOf } from '../graph/safe_read';
import { loadTurboModel } from '../runtime/load';
import { graphFacts } from './graph_facts';
import { blipPixels } from './image';
import { BlipConfig, BlipModel, BlipTask, checkConfigAgainstGraph, checkPartInterface, loadTaskGraphs, parseBlipConfig } from './model';
import { BlipTokenizer } from './tokenizer';

/** config.json and tokenizer.json, parsed and validated, with the bytes they were parsed from. */
export interface BlipTopFiles {
  config: BlipConfig;
  tokenizer: BlipTokenizer;
  /** Exactly what was validated: a conversion copies these, never the files again. */
  bytes: Record<'config.json' | 'tokenizer.json', Buffer>;
}

/** config.json or tokenizer.json: a regular file inside `dir` (not a link out of it), bounded, parsed. */
async function readTopJson(dir: string, name: keyof BlipTopFiles['bytes']): Promise<{ file: string; bytes: Buffer; json: unknown }> {
  const file = path.join(dir, name);
  const bytes = await readWholeFileInside(dir, await realDirOf(dir), name, name === 'config.json' ? 'config' : 'tokenizer');
  return { file, bytes, json: parseJsonText(bytes.toString('utf8'), file) };
}

export async function readBlipTopFiles(dir: string): Promise<BlipTopFiles> {
  const configJson = await readTopJson(dir, 'config.json');
  const config = parseBlipConfig(configJson.json, configJson.file);
  const tokenizerJson = await readTopJson(dir, 'tokenizer.json');
  const tokenizer = BlipTokenizer.fromJson(tokenizerJson.json, tokenizerJson.file, config.maxTextLength, config.padId);
  return { config, tokenizer, bytes: { 'config.json': configJson.bytes, 'tokenizer.json': tokenizerJson.bytes } };
}

/** Loads the config, the tokenizer and the task's graphs (Turbo or not; the Turbo ops are registered). */
export async function loadBlip(dir: string, task: BlipTask): Promise<BlipModel> {
  const { config, tokenizer } = await readBlipTopFiles(dir);
  const graphs = await loadTaskGraphs(task, async (part) => {
    const partDir = path.join(dir, task, part);
    // model.json alone (no weights) holds what config.json must agree with; checked before tfjs loads anything.
    const jsonPath = path.join(partDir, 'model.json');
    const graph = await readModelJsonOnly(jsonPath);
    checkPartInterface(task, part, graph.modelJson.signature, jsonPath);
    checkConfigAgainstGraph(config, graphFacts(graph), `${task}/${part}`, path.join(dir, 'config.json'));
    return loadTurboModel(partDir);
  });
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
