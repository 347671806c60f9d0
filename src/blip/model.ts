// A BLIP model as the pipelines use it, browser-safe: config.json and tokenizer.json at the top
// of a directory (or URL), one graph model per part of each task, as
// converters/python/export_blip.py writes it and convertBlipWithTurbo rewrites it:
//   retrieval/{vision,text,itm}   caption/{vision,decoder}   vqa/{vision,question,answer}
// Loading: load.ts (Node, local directories) and load_web.ts (URLs).
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { TurboInputError } from '../errors';
import { BlipTokenizer } from './tokenizer';

export const BLIP_TASKS = {
  retrieval: ['vision', 'text', 'itm'],
  caption: ['vision', 'decoder'],
  vqa: ['vision', 'question', 'answer'],
} as const;
export type BlipTask = keyof typeof BLIP_TASKS;

/** Graphs whose cross-attention reads the image tokens: where the text-side dropping goes. */
export const IMAGE_CROSS_ATTENTION_GRAPHS: readonly string[] = ['retrieval/itm', 'caption/decoder', 'vqa/question'];

export interface BlipImageConfig {
  size: number;
  mean: [number, number, number];
  std: [number, number, number];
}

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

/** An image file or encoded bytes, decoded by the loader's decoder (Node: sharp), or CHW pixels. */
export type ImageInput = string | Uint8Array | Float32Array;

export interface BlipModel {
  /** Where it was loaded from (directory or URL), for messages. */
  dir: string;
  task: BlipTask;
  config: BlipConfig;
  tokenizer: BlipTokenizer;
  graphs: Record<string, GraphModel>;
  /** Decodes and preprocesses an image; absent where only preprocessed pixels are accepted. */
  decodeImage?: (image: string | Uint8Array, config: BlipImageConfig) => Promise<Float32Array>;
  dispose(): void;
}

/** config.json's fields the pipelines need; `source` names the file in errors. */
export function parseBlipConfig(raw: unknown, source: string): BlipConfig {
  const obj = raw as Record<string, unknown>;
  const num = (o: unknown, key: string): number => {
    const v = (o as Record<string, unknown> | undefined)?.[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TurboInputError(source, `needs a number at ${key}`);
    return v;
  };
  const triple = (key: string): [number, number, number] => {
    const v = (obj?.image as Record<string, unknown> | undefined)?.[key];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number')) throw new TurboInputError(source, `needs image.${key} as 3 numbers`);
    return v as [number, number, number];
  };
  const ids = obj?.specialTokens;
  return {
    image: { size: num(obj?.image, 'size'), mean: triple('mean'), std: triple('std') },
    maxTextLength: num(obj?.text, 'max_position_embeddings'),
    padId: num(ids, 'pad'),
    bosId: num(ids, 'bos'),
    eosId: num(ids, 'sep'),
  };
}

/** Loads every graph of `task` with `load` (Node or web loader); disposes what it loaded on failure. */
export async function loadTaskGraphs(task: BlipTask, load: (part: string) => Promise<GraphModel>): Promise<Record<string, GraphModel>> {
  const graphs: Record<string, GraphModel> = {};
  try {
    for (const part of BLIP_TASKS[task]) graphs[part] = await load(part);
  } catch (e) {
    for (const g of Object.values(graphs)) g.dispose();
    throw e;
  }
  return graphs;
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
