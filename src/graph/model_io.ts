// Reading and writing tfjs graph models (model.json + binary weight shards) in plain Node.
// An unmodified model is written back byte for byte: model.json verbatim, shards with their
// original grouping. A modified one is re-serialised in the style it was read in (JSON.stringify's
// compact form, or Python json.dump's ", " / ": " separators) and re-sharded in 4 MiB pieces
// named as tensorflowjs_converter names them.

import * as path from 'path';
import type { io } from '@tensorflow/tfjs-core';
import { ManifestError, TurboInputError } from '../errors';
import { Graph, storedByteLength } from './ir';
import { writeDirAtomically, writeFileIn } from '../output_dir';
import { parseJsonText, readModelJsonText, readShard, realDirOf } from './safe_read';
import { ModelJson, StoredWeight, WeightSpec, WeightsManifestGroup } from './types';
import { checkGraphAgainstManifest, checkManifest, checkModelJsonShape } from './validate_input';

export const SHARD_BYTES = 4 * 1024 * 1024;

type JsonStyle = 'compact' | 'python';

/** What was read, kept beside the graph so an unchanged model can be written back exactly. */
interface Origin {
  text: string;
  snapshot: string;
  style: JsonStyle;
  groups: { paths: string[]; names: string[]; sizes: number[] }[];
}

const origins = new WeakMap<Graph, Origin>();

export type ProgressFn = (done: number, total: number) => void;

export interface ReadOptions {
  onProgress?: ProgressFn;
}

/** Reads model.json and its shards from a directory (or a path to model.json), trusting neither. */
export async function readGraphModel(dirOrFile: string, opts: ReadOptions = {}): Promise<Graph> {
  const { jsonPath, json, text } = await readModelJson(dirOrFile);
  checkGraphAgainstManifest(json, jsonPath);
  const dir = path.dirname(jsonPath);
  const realDir = await realDirOf(dir);
  const weights: StoredWeight[] = [];
  const shardSizes: number[][] = [];
  const total = json.weightsManifest.reduce((s, g) => s + g.weights.reduce((t, w) => t + storedByteLength(w), 0), 0);
  let done = 0;
  for (const [gi, group] of json.weightsManifest.entries()) {
    const need = group.weights.reduce((s, w) => s + storedByteLength(w), 0);
    const buffers: Buffer[] = [];
    const sizes: number[] = [];
    let have = 0;
    for (const [pi, p] of group.paths.entries()) {
      const last = pi === group.paths.length - 1;
      // The last shard may carry trailing bytes; every read stops where the weights end.
      const { data, size } = await readShard(dir, realDir, p, jsonPath, need - have);
      if (!last && size > need - have) {
        throw new ManifestError(path.join(dir, p), `holds ${size} bytes but weightsManifest[${gi}] needs only ${need - have} more, and more shards follow`);
      }
      buffers.push(data);
      sizes.push(data.length);
      have += data.length;
    }
    if (have < need) throw shortShard(dir, group.paths, sizes, gi, have, need);
    shardSizes.push(sizes);
    const data = Buffer.concat(buffers);
    let offset = 0;
    for (const spec of group.weights) {
      const n = storedByteLength(spec);
      // A copy, so every weight owns an aligned buffer of its own.
      weights.push({ spec, bytes: new Uint8Array(data.subarray(offset, offset + n)) });
      offset += n;
      done += n;
      opts.onProgress?.(done, total);
    }
  }
  const graph = new Graph(json, weights);
  origins.set(graph, {
    text,
    snapshot: JSON.stringify(json),
    style: detectStyle(text),
    groups: json.weightsManifest.map((g, i) => ({ paths: g.paths, names: g.weights.map((w) => w.name), sizes: shardSizes[i] })),
  });
  return graph;
}

/**
 * The shard to blame when a group is short: tensorflowjs_converter cuts every shard but the last
 * at the same size, so a shorter one before the last is the truncated one.
 */
function shortShard(dir: string, paths: string[], sizes: number[], gi: number, have: number, need: number): ManifestError {
  const full = Math.max(...sizes);
  const i = sizes.slice(0, -1).findIndex((s) => s < full);
  const at = i >= 0 ? i : paths.length - 1;
  const why = i >= 0 ? ` (${sizes[i]} bytes, the shards before the last have ${full})` : '';
  return new ManifestError(path.join(dir, paths[at] ?? ''), `truncated${why}: weightsManifest[${gi}] needs ${need} bytes, its shards hold ${have}`);
}

/** model.json alone (topology fixtures without shards): weights are listed but have no bytes. */
export async function readModelJsonOnly(file: string): Promise<Graph> {
  const { json } = await readModelJson(file);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  return new Graph(json, specs.map((spec) => ({ spec, bytes: new Uint8Array(0) })));
}

async function readModelJson(dirOrFile: string): Promise<{ jsonPath: string; json: ModelJson; text: string }> {
  const jsonPath = dirOrFile.endsWith('.json') ? dirOrFile : path.join(dirOrFile, 'model.json');
  const text = await readModelJsonText(jsonPath);
  const json = parseJsonText(text, jsonPath);
  checkModelJsonShape(json, jsonPath);
  checkManifest(json, jsonPath);
  return { jsonPath, json, text };
}

function detectStyle(text: string): JsonStyle {
  return /^\{"[^"]*": /.test(text) ? 'python' : 'compact';
}

export interface WriteOptions {
  onProgress?: ProgressFn;
  /**
   * Replace `dir` if it exists and holds a graph model (or nothing); the old one is removed only
   * after the new one is in place. Never replaces a file, device, FIFO or symlink.
   */
  overwrite?: boolean;
  shardBytes?: number;
  /** Files written beside model.json in the same atomic step (names from output_dir's side-file list). */
  sideFiles?: Record<string, string | Uint8Array>;
}

/**
 * Writes model.json and shards into `dir` atomically: everything goes to a temporary sibling
 * directory that is renamed at the end, so `dir` is either absent, the old one, or complete.
 * Without `overwrite`, `dir` is claimed exclusively: of two writers, one fails.
 */
export async function writeGraphModel(graph: Graph, dir: string, opts: WriteOptions = {}): Promise<void> {
  await writeDirAtomically(dir, !!opts.overwrite, async (tmp) => {
    const { json, shards } = serialise(graph, opts.shardBytes ?? SHARD_BYTES);
    const total = shards.reduce((s, b) => s + b.data.length, 0);
    let done = 0;
    opts.onProgress?.(0, total);
    for (const shard of shards) {
      await writeFileIn(dir, path.join(tmp, shard.path), shard.data);
      done += shard.data.length;
      opts.onProgress?.(done, total);
    }
    for (const [name, data] of Object.entries(opts.sideFiles ?? {})) await writeFileIn(dir, path.join(tmp, path.basename(name)), data);
    await writeFileIn(dir, path.join(tmp, 'model.json'), json);
  });
}

function serialise(graph: Graph, shardBytes: number): { json: string; shards: { path: string; data: Buffer }[] } {
  const origin = origins.get(graph);
  const keepGroups = origin && !graph.weightsChanged && sameWeights(graph, origin);
  if (keepGroups) {
    const shards = origin.groups.flatMap((g) => splitLike(g.names.map((n) => graph.weights.get(n)!.bytes), g.paths, g.sizes));
    // A new object: writing leaves the graph as it was.
    const json: ModelJson = {
      ...graph.modelJson,
      weightsManifest: origin.groups.map((g) => ({ paths: g.paths, weights: g.names.map((n) => graph.weights.get(n)!.spec) })),
    };
    const unchanged = JSON.stringify(json) === origin.snapshot;
    return { json: unchanged ? origin.text : stringify(json, origin.style), shards };
  }
  const all = Buffer.concat([...graph.weights.values()].map((w) => w.bytes));
  const count = Math.max(1, Math.ceil(all.length / shardBytes));
  const shards = Array.from({ length: count }, (_, i) => ({
    path: `group1-shard${i + 1}of${count}.bin`,
    data: all.subarray(i * shardBytes, (i + 1) * shardBytes),
  }));
  const group: WeightsManifestGroup = {
    paths: shards.map((s) => s.path),
    weights: [...graph.weights.values()].map((w) => w.spec),
  };
  return { json: stringify({ ...graph.modelJson, weightsManifest: [group] }, origin?.style ?? 'compact'), shards };
}

function sameWeights(graph: Graph, origin: Origin): boolean {
  const names = origin.groups.flatMap((g) => g.names);
  return names.length === graph.weights.size && names.every((n) => graph.weights.has(n));
}

/** Re-cuts a group's byte stream at the original shard boundaries. */
function splitLike(parts: Uint8Array[], paths: string[], sizes: number[]): { path: string; data: Buffer }[] {
  const all = Buffer.concat(parts);
  let offset = 0;
  return paths.map((p, i) => {
    // The last shard takes whatever remains (trailing bytes past the weights are not kept).
    const end = i === paths.length - 1 ? all.length : offset + sizes[i];
    const data = all.subarray(offset, end);
    offset = end;
    return { path: p, data };
  });
}

/**
 * Keys whose numbers Python wrote as floats: attribute values ("f", single or in a list) and
 * quantization parameters. Python prints 0.0 and 1e-05 where JavaScript prints 0 and 0.00001.
 */
const PYTHON_FLOAT_KEYS = new Set(['f', 'scale', 'min']);

/** JSON in the style the model was read in. */
export function stringify(value: unknown, style: JsonStyle): string {
  if (style === 'compact') return JSON.stringify(value);
  const enc = (v: unknown, floats: boolean): string => {
    if (Array.isArray(v)) return `[${v.map((x) => enc(x, floats)).join(', ')}]`;
    if (v && typeof v === 'object') {
      return `{${Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => `${JSON.stringify(k)}: ${enc(x, PYTHON_FLOAT_KEYS.has(k))}`)
        .join(', ')}}`;
    }
    if (floats && typeof v === 'number' && Number.isFinite(v)) return pythonFloat(v);
    return JSON.stringify(v) ?? 'null';
  };
  return enc(value, false);
}

/** A float as Python's repr writes it: the same shortest digits, Python's switch to exponents. */
export function pythonFloat(x: number): string {
  if (Object.is(x, -0)) return '-0.0';
  const [mantissa, exp] = x.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const plain = x.toFixed(Math.max(0, (mantissa.replace('-', '').replace('.', '').length - 1) - e));
  return plain.includes('.') ? plain : `${plain}.0`;
}

/** The graph as in-memory artifacts: `tf.loadGraphModel(tf.io.fromMemory(graphToArtifacts(g)))`. */
export function graphToArtifacts(graph: Graph): io.ModelArtifacts {
  const weights = [...graph.weights.values()];
  const data = Buffer.concat(weights.map((w) => w.bytes));
  const j = graph.modelJson;
  return {
    // tfjs reads modelTopology.versions.producer unconditionally.
    modelTopology: { ...j.modelTopology, versions: j.modelTopology.versions ?? {} } as unknown as io.ModelArtifacts['modelTopology'],
    format: j.format ?? 'graph-model',
    generatedBy: j.generatedBy,
    convertedBy: j.convertedBy ?? undefined,
    signature: j.signature as io.ModelArtifacts['signature'],
    userDefinedMetadata: j.userDefinedMetadata as io.ModelArtifacts['userDefinedMetadata'],
    modelInitializer: j.modelInitializer as io.ModelArtifacts['modelInitializer'],
    weightSpecs: weights.map((w) => w.spec as unknown as io.WeightsManifestEntry),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  };
}

export type { WeightSpec };
