// A BLIP model directory as converters/python/export_blip.py writes it (and convertBlipWithTurbo
// rewrites it): config.json and tokenizer.json at the top, one graph model per part of each task.
//   retrieval/{vision,text,itm}   caption/{vision,decoder}   vqa/{vision,question,answer}
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { TurboInputError } from '../errors';
import { readRegularFile } from '../graph/safe_read';
import { loadTurboModel } from '../runtime/load';
import { BlipImageConfig } from './image';
import { BlipTokenizer } from './tokenizer';

export const BLIP_TASKS = {
  retrieval: ['vision', 'text', 'itm'],
  caption: ['vision', 'decoder'],
  vqa: ['vision', 'question', 'answer'],
} as const;
export type BlipTask = keyof typeof BLIP_TASKS;

/** Graphs whose cross-attention reads the image tokens: where the text-side dropping goes. */
export const IMAGE_CROSS_ATTENTION_GRAPHS: readonly string[] = ['retrieval/itm', 'caption/decoder', 'vqa/question'];

export interface BlipConfig {
  image: BlipImageConfig;
  /** Longest text the position embeddings allow, special tokens included. */
  maxTextLength: number;
  padId: number;
  /** [DEC]: starts every generated sequence. */
  bosId: number;
  /** [SEP]: ends a generated sequence. */
  eosId: number;
}

export interface BlipModel {
  dir: string;
  task: BlipTask;
  config: BlipConfig;
  tokenizer: BlipTokenizer;
  graphs: Record<string, GraphModel>;
  dispose(): void;
}

const MAX_SIDE_FILE_BYTES = 64 * 1024 * 1024;

async function readJson(file: string): Promise<unknown> {
  const { data, size } = await readRegularFile(file, MAX_SIDE_FILE_BYTES);
  if (size > MAX_SIDE_FILE_BYTES) throw new TurboInputError(file, `is ${size} bytes, more than the ${MAX_SIDE_FILE_BYTES} allowed`);
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw new TurboInputError(file, `is not valid JSON (${(e as Error).message})`);
  }
}

/** Reads config.json; every field the pipelines need must be there. */
export async function readBlipConfig(dir: string): Promise<BlipConfig> {
  const file = path.join(dir, 'config.json');
  const raw = (await readJson(file)) as Record<string, unknown>;
  const num = (obj: unknown, key: string): number => {
    const v = (obj as Record<string, unknown> | undefined)?.[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TurboInputError(file, `needs a number at ${key}`);
    return v;
  };
  const triple = (key: string): [number, number, number] => {
    const v = (raw.image as Record<string, unknown> | undefined)?.[key];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number')) throw new TurboInputError(file, `needs image.${key} as 3 numbers`);
    return v as [number, number, number];
  };
  const ids = raw.specialTokens;
  return {
    image: { size: num(raw.image, 'size'), mean: triple('mean'), std: triple('std') },
    maxTextLength: num(raw.text, 'max_position_embeddings'),
    padId: num(ids, 'pad'),
    bosId: num(ids, 'bos'),
    eosId: num(ids, 'sep'),
  };
}

export async function loadBlipTokenizer(dir: string, config: BlipConfig): Promise<BlipTokenizer> {
  const file = path.join(dir, 'tokenizer.json');
  return BlipTokenizer.fromJson(await readJson(file), file, config.maxTextLength, config.padId);
}

/** Loads the config, the tokenizer and the task's graphs (Turbo or not; the Turbo ops are registered). */
export async function loadBlip(dir: string, task: BlipTask): Promise<BlipModel> {
  const config = await readBlipConfig(dir);
  const tokenizer = await loadBlipTokenizer(dir, config);
  const graphs: Record<string, GraphModel> = {};
  try {
    for (const part of BLIP_TASKS[task]) graphs[part] = await loadTurboModel(path.join(dir, task, part));
  } catch (e) {
    for (const g of Object.values(graphs)) g.dispose();
    throw e;
  }
  return { dir, task, config, tokenizer, graphs, dispose: () => Object.values(graphs).forEach((g) => g.dispose()) };
}

const needsAsync = new WeakSet<GraphModel>();

/**
 * Runs a graph on named inputs and returns the named outputs (signature names). Graphs without
 * control flow run on the synchronous executor (executeAsync would warn on every call); the
 * decoders keep a tf.cond from transformers' causal mask, which only executeAsync runs.
 */
export async function runGraph(model: GraphModel, feeds: Record<string, tf.Tensor>, outputs: readonly string[]): Promise<tf.Tensor[]> {
  let result: tf.Tensor | tf.Tensor[] | undefined;
  if (!needsAsync.has(model)) {
    try {
      result = model.execute(feeds, [...outputs]);
    } catch (e) {
      if (!/executeAsync/.test((e as Error).message)) throw e;
      needsAsync.add(model);
    }
  }
  result ??= await model.executeAsync(feeds, [...outputs]);
  return Array.isArray(result) ? result : [result];
}

/** [B, T] number rows → int32 tensor. */
export function idsTensor(rows: readonly (readonly number[])[]): tf.Tensor2D {
  return tf.tensor2d(rows.map((r) => [...r]), [rows.length, rows[0]?.length ?? 0], 'int32');
}
