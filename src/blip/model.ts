// A BLIP model as the pipelines use it, browser-safe: config.json and tokenizer.json at the top
// of a directory (or URL), one graph model per part of each task, as
// converters/python/export_blip.py writes it and convertBlipWithTurbo rewrites it:
//   retrieval/{vision,text,itm}   caption/{vision,decoder}   vqa/{vision,question,answer}
// Loading: load.ts (Node, local directories) and load_web.ts (URLs).
import * as tf from '@tensorflow/tfjs-core';
import { GraphModel } from '@tensorflow/tfjs-converter';
import { TurboInputError } from '../errors';
import { executeGraph } from '../runtime/execution';
import type { ModelJson, SignatureEntry } from '../graph/types';
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

/** config.json's fields the pipelines need, each checked for the values it can take; `source` names the file in errors. */
export function parseBlipConfig(raw: unknown, source: string): BlipConfig {
  const field = (key: string): unknown => key.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), raw);
  const int = (key: string, min: number): number => {
    const v = field(key);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new TurboInputError(source, `${key} must be a whole number of at least ${min}, not ${shown(v)}`);
    return v;
  };
  const triple = (key: string, ok: (x: number) => boolean, what: string): [number, number, number] => {
    const v = field(key);
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && ok(x))) throw new TurboInputError(source, `${key} must be 3 ${what}`);
    return v as [number, number, number];
  };
  return {
    image: {
      size: int('image.size', 1),
      mean: triple('image.mean', Number.isFinite, 'finite numbers'),
      // Pixels are divided by std: a zero would turn every image into infinities.
      std: triple('image.std', (x) => Number.isFinite(x) && x > 0, 'positive numbers'),
    },
    maxTextLength: int('text.max_position_embeddings', 1),
    padId: int('specialTokens.pad', 0),
    bosId: int('specialTokens.bos', 0),
    eosId: int('specialTokens.sep', 0),
  };
}

/** A config value for a message: short, and never more of the file than the value itself. */
function shown(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/**
 * What one graph says about the model it belongs to, where it says it: the pixel size its input
 * takes, the rows of its word and position embeddings. config.json has to agree with each.
 */
export interface BlipGraphFacts {
  imageSize?: number;
  vocabSize?: number;
  positions?: number;
}

/**
 * Refuses a config.json that contradicts a graph of its directory; otherwise the mismatch surfaces
 * mid-inference as a shape or gather error from inside tfjs that names neither file nor field.
 */
export function checkConfigAgainstGraph(config: BlipConfig, facts: BlipGraphFacts, graphName: string, configFile: string): void {
  const refuse = (problem: string) => {
    throw new TurboInputError(configFile, problem);
  };
  const { imageSize, vocabSize, positions } = facts;
  if (imageSize !== undefined && config.image.size !== imageSize) {
    refuse(`image.size is ${config.image.size}, but ${graphName} takes ${imageSize}x${imageSize} pixels`);
  }
  if (vocabSize !== undefined) {
    const ids: [string, number][] = [['pad', config.padId], ['bos', config.bosId], ['sep', config.eosId]];
    for (const [name, id] of ids) {
      if (id >= vocabSize) refuse(`specialTokens.${name} is ${id}, past the ${vocabSize}-token vocabulary of ${graphName}`);
    }
  }
  if (positions !== undefined && config.maxTextLength > positions) {
    refuse(`text.max_position_embeddings is ${config.maxTextLength}, but ${graphName} has ${positions} position embeddings`);
  }
}

/**
 * The signature names each part must have, inputs and outputs (":0" suffixes aside): what the
 * pipelines feed and fetch. A part put in another's folder is refused on load instead of failing
 * inside tfjs with an error that names no file.
 */
const PART_INTERFACE: Record<string, { inputs: string[]; outputs: string[] }> = {
  vision: { inputs: ['pixel_values'], outputs: ['image_embeds'] },
  text: { inputs: ['input_ids', 'attention_mask'], outputs: ['text_feat'] },
  itm: { inputs: ['input_ids', 'attention_mask', 'image_embeds'], outputs: ['itm_logits'] },
  decoder: { inputs: ['input_ids', 'attention_mask', 'image_embeds'], outputs: ['logits'] },
  question: { inputs: ['input_ids', 'attention_mask', 'image_embeds'], outputs: ['question_embeds'] },
  answer: { inputs: ['input_ids', 'attention_mask', 'question_embeds', 'question_attention_mask'], outputs: ['logits'] },
};

/** Refuses a graph whose signature lacks what its part of the task is fed or asked for; `file` is its model.json. */
export function checkPartInterface(task: BlipTask, part: string, signature: ModelJson['signature'] | undefined, file: string): void {
  const want = PART_INTERFACE[part];
  if (!want) return;
  const names = (m: Record<string, unknown> | undefined) => new Set(Object.keys(m ?? {}).map((k) => k.replace(/:\d+$/, '')));
  const inputs = names(signature?.inputs);
  const outputs = names(signature?.outputs);
  const missing = [...want.inputs.filter((n) => !inputs.has(n)).map((n) => `input ${n}`), ...want.outputs.filter((n) => !outputs.has(n)).map((n) => `output ${n}`)];
  if (missing.length) {
    throw new TurboInputError(file, `is not a BLIP ${task} ${part} graph: its signature has no ${missing.join(', ')} (has inputs ${[...inputs].join(', ') || 'none'})`);
  }
}

/**
 * What a graph's signature tells (the only view the web loader has; the Node loader adds the
 * embeddings): the pixel input's size and the width of a `logits` output, the vocabulary.
 */
export function signatureFacts(signature: ModelJson['signature'] | undefined): BlipGraphFacts {
  const pixels = dims(signature?.inputs?.pixel_values);
  const logits = dims(signature?.outputs?.logits);
  const side = pixels?.length === 4 && pixels[2] === pixels[3] ? pixels[2] : undefined;
  return { imageSize: positive(side), vocabSize: positive(logits?.[logits.length - 1]) };
}

function dims(entry: SignatureEntry | undefined): number[] | undefined {
  return entry?.tensorShape?.dim?.map((d) => Number(d.size));
}

/** A size a graph fixes (-1, absent or garbage: it does not). */
export function positive(n: number | undefined): number | undefined {
  return n !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
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

/**
 * Runs a graph on named inputs and returns the named outputs (signature names), on the executor
 * its graph allows (runtime/execution.ts): the decoders keep a tf.cond from transformers' causal
 * mask, which only executeAsync runs; the others run on the synchronous executor.
 */
export async function runGraph(model: GraphModel, feeds: Record<string, tf.Tensor>, outputs: readonly string[]): Promise<tf.Tensor[]> {
  const result = await executeGraph(model, feeds, [...outputs]);
  return Array.isArray(result) ? result : [result];
}

/** [B, T] number rows → int32 tensor. */
export function idsTensor(rows: readonly (readonly number[])[]): tf.Tensor2D {
  return tf.tensor2d(rows.map((r) => [...r]), [rows.length, rows[0]?.length ?? 0], 'int32');
}
