// Reading and writing tfjs graph models (model.json + binary weight shards) in plain Node.
// An unmodified model is written back byte for byte: model.json verbatim, shards with their
// original grouping. A modified one is re-serialised in the style it was read in (JSON.stringify's
// compact form, or Python json.dump's ", " / ": " separators) and re-sharded in 4 MiB pieces
// named as tensorflowjs_converter names them.

import * as fs from 'fs';
import * as fsp from 'fs/promises';
import * as path from 'path';
import type { io } from '@tensorflow/tfjs-core';
import { TurboInputError } from '../errors';
import { Graph, storedByteLength } from './ir';
import { ModelJson, StoredWeight, WeightSpec, WeightsManifestGroup } from './types';

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

/** Reads model.json and its shards from a directory (or a path to model.json). */
export async function readGraphModel(dirOrFile: string, opts: ReadOptions = {}): Promise<Graph> {
  const { jsonPath, json, text } = await readModelJson(dirOrFile);
  const dir = path.dirname(jsonPath);
  const weights: StoredWeight[] = [];
  const shardSizes: number[][] = [];
  const total = json.weightsManifest.reduce((s, g) => s + g.weights.reduce((t, w) => t + storedByteLength(w), 0), 0);
  let done = 0;
  for (const group of json.weightsManifest) {
    const buffers: Buffer[] = [];
    for (const p of group.paths) {
      const shard = path.join(dir, p);
      try {
        buffers.push(await fsp.readFile(shard));
      } catch (e) {
        throw new TurboInputError(shard, fileProblem(e, 'weight shard not found (listed in model.json)'));
      }
    }
    shardSizes.push(buffers.map((b) => b.length));
    const data = Buffer.concat(buffers);
    const need = group.weights.reduce((s, w) => s + storedByteLength(w), 0);
    if (data.length < need) {
      const last = path.join(dir, group.paths[group.paths.length - 1] ?? '');
      throw new TurboInputError(last, `truncated: group has ${data.length} bytes, its weights need ${need}`);
    }
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

/** model.json alone (topology fixtures without shards): weights are listed but have no bytes. */
export async function readModelJsonOnly(file: string): Promise<Graph> {
  const { json } = await readModelJson(file);
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  return new Graph(json, specs.map((spec) => ({ spec, bytes: new Uint8Array(0) })));
}

async function readModelJson(dirOrFile: string): Promise<{ jsonPath: string; json: ModelJson; text: string }> {
  const jsonPath = dirOrFile.endsWith('.json') ? dirOrFile : path.join(dirOrFile, 'model.json');
  let text: string;
  try {
    text = await fsp.readFile(jsonPath, 'utf8');
  } catch (e) {
    throw new TurboInputError(jsonPath, fileProblem(e, 'not found'));
  }
  let json: ModelJson;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TurboInputError(jsonPath, `not valid JSON (${(e as Error).message})`);
  }
  const problem = graphModelProblem(json);
  if (problem) throw new TurboInputError(jsonPath, problem);
  return { jsonPath, json, text };
}

function graphModelProblem(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'not a tfjs model (expected a JSON object)';
  const j = json as Partial<ModelJson>;
  if (j.format !== undefined && j.format !== 'graph-model') {
    return `format is '${String(j.format)}', expected 'graph-model' (a tfjs layers model cannot be rewritten)`;
  }
  if (!j.modelTopology || !Array.isArray(j.modelTopology.node)) return 'not a graph model: modelTopology.node is missing';
  if (!Array.isArray(j.weightsManifest)) return 'weightsManifest is missing';
  for (const [i, g] of j.weightsManifest.entries()) {
    if (!g || !Array.isArray(g.paths) || !Array.isArray(g.weights)) return `weightsManifest[${i}] needs 'paths' and 'weights' arrays`;
    for (const w of g.weights) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        return `weightsManifest[${i}] has a weight without name, shape or dtype`;
      }
    }
  }
  return undefined;
}

function fileProblem(e: unknown, missing: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return missing;
  if (code === 'EISDIR') return 'is a directory, expected a file';
  if (code === 'EACCES') return 'permission denied';
  return String((e as Error).message ?? e);
}

function detectStyle(text: string): JsonStyle {
  return /^\{"[^"]*": /.test(text) ? 'python' : 'compact';
}

export interface WriteOptions {
  onProgress?: ProgressFn;
  /** Replace `dir` if it exists (the old one is removed only after the new one is in place). */
  overwrite?: boolean;
  shardBytes?: number;
}

/**
 * Writes model.json and shards into `dir` atomically: everything goes to a temporary sibling
 * directory that is renamed at the end, so `dir` is either absent, the old one, or complete.
 */
export async function writeGraphModel(graph: Graph, dir: string, opts: WriteOptions = {}): Promise<void> {
  const target = path.resolve(dir);
  if (fs.existsSync(target) && !opts.overwrite) throw new TurboInputError(dir, 'already exists');
  const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await fsp.mkdir(path.dirname(target), { recursive: true });
  await fsp.mkdir(tmp);
  try {
    const { json, shards } = serialise(graph, opts.shardBytes ?? SHARD_BYTES);
    const total = shards.reduce((s, b) => s + b.data.length, 0);
    let done = 0;
    opts.onProgress?.(0, total);
    for (const shard of shards) {
      await fsp.writeFile(path.join(tmp, shard.path), shard.data);
      done += shard.data.length;
      opts.onProgress?.(done, total);
    }
    await fsp.writeFile(path.join(tmp, 'model.json'), json);
    await swapIn(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function swapIn(tmp: string, target: string): Promise<void> {
  if (!fs.existsSync(target)) {
    await fsp.rename(tmp, target);
    return;
  }
  const old = `${target}.old-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await fsp.rename(target, old);
  try {
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rename(old, target);
    throw e;
  }
  await fsp.rm(old, { recursive: true, force: true });
}

function serialise(graph: Graph, shardBytes: number): { json: string; shards: { path: string; data: Buffer }[] } {
  const origin = origins.get(graph);
  const keepGroups = origin && !graph.weightsChanged && sameWeights(graph, origin);
  if (keepGroups) {
    const shards = origin.groups.flatMap((g) => splitLike(g.names.map((n) => graph.weights.get(n)!.bytes), g.paths, g.sizes));
    graph.modelJson.weightsManifest = origin.groups.map((g) => ({
      paths: g.paths,
      weights: g.names.map((n) => graph.weights.get(n)!.spec),
    }));
    const unchanged = JSON.stringify(graph.modelJson) === origin.snapshot;
    return { json: unchanged ? origin.text : stringify(graph.modelJson, origin.style), shards };
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
  graph.modelJson.weightsManifest = [group];
  return { json: stringify(graph.modelJson, origin?.style ?? 'compact'), shards };
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

/** JSON in the style the model was read in. */
export function stringify(value: unknown, style: JsonStyle): string {
  if (style === 'compact') return JSON.stringify(value);
  const enc = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(enc).join(', ')}]`;
    if (v && typeof v === 'object') {
      return `{${Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => `${JSON.stringify(k)}: ${enc(x)}`)
        .join(', ')}}`;
    }
    return JSON.stringify(v) ?? 'null';
  };
  return enc(value);
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
