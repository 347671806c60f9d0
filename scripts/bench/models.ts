// The benchmarked networks: the embedded real ViT-Tiny (models/vit-tiny-patch16-224) and ViT-B/16-224
// with random weights written by scripts/random_vit.ts (seed 0) and converted by converters/vit.ts
// at bench time (nothing large is committed); their Turbo rewrites.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { convertVitCheckpoint, convertVitCheckpointTo } from '../../converters/vit';
import { embeddedModelDir, rewriteGraph } from '../../src/convert';
import { TurboInputError } from '../../src/errors';
import { Graph } from '../../src/graph/ir';
import { readGraphModel } from '../../src/graph/model_io';
import { packageRoot } from '../../src/paths';
import { DEFAULT_TURBO_OPTIONS } from '../../src/turbo/options';
import { estimateFlopRatio } from '../../src/turbo/schedule';
import { VIT_B16_224, writeRandomVit } from '../random_vit';
import { PeerSetup, exportOnnx } from './onnx';

const ROOT = packageRoot();
const FALLBACK_TINY_DIR = path.join(ROOT, 'models', 'vit-tiny-patch16-224-tfjs-converter');

export interface ModelSpec {
  key: string;
  title: string;
  /** The shorter title of the bench-native and bench-savedmodel sections. */
  short: string;
  rSweep: number[];
  /** Fallback for FLOP estimates if the rewrite cannot read the widths off the weights. */
  dims: { hidden: number; mlp: number };
  /** Name of its ONNX export in the cache. */
  onnxName: string;
}

export const MODELS: Record<string, ModelSpec> = {
  'vit-tiny': {
    key: 'vit-tiny',
    title: 'ViT-Tiny/16-224 (real ImageNet weights, embedded model)',
    short: 'ViT-Tiny/16-224 (real weights, embedded model)',
    rSweep: [0, 4, 8, 13, 16],
    dims: { hidden: 192, mlp: 768 },
    onnxName: 'vit-tiny-patch16-224',
  },
  'vit-b': {
    key: 'vit-b',
    title: 'ViT-B/16-224 (random weights, seed 0, converted by converters/vit.ts)',
    short: 'ViT-B/16-224 (random weights, seed 0)',
    rSweep: [0, 8, 13, 16, 20],
    dims: { hidden: 768, mlp: 3072 },
    onnxName: 'vit-b16-224-random-seed0',
  },
};

/** Where the ViT-Tiny safetensors checkpoint (for the ONNX export) lives under shared/. */
export function tinyCheckpoint(shared: string): string {
  return path.join(shared, 'models', 'vit-tiny-patch16-224');
}

export function cloneGraph(g: Graph): Graph {
  // Weights are shared: the rewrite only adds constants, it never writes into existing bytes.
  return new Graph(structuredClone(g.modelJson), [...g.weights.values()]);
}

export function weightBytes(g: Graph): number {
  let n = 0;
  for (const w of g.weights.values()) n += w.bytes.byteLength;
  return n;
}

export function turboGraph(base: Graph, spec: ModelSpec, r: number, alpha: number) {
  const g = cloneGraph(base);
  const summary = rewriteGraph(g, { ...DEFAULT_TURBO_OPTIONS, r, alpha });
  const flopRatio = estimateFlopRatio(summary.plan.tokenCount, summary.plan.tokensAfterBlock, summary.plan.dims ?? spec.dims);
  return { graph: g, tokens: summary.plan.tokensAfterBlock, flopRatio };
}

/** Op counts that differ between two graphs: { op: [a, b] }. */
export function opDiff(a: Graph, b: Graph): Record<string, [number, number]> {
  const hist = (g: Graph) => {
    const h = new Map<string, number>();
    for (const n of g.nodes) h.set(n.op, (h.get(n.op) ?? 0) + 1);
    return h;
  };
  const ha = hist(a);
  const hb = hist(b);
  const out: Record<string, [number, number]> = {};
  for (const op of new Set([...ha.keys(), ...hb.keys()])) if ((ha.get(op) ?? 0) !== (hb.get(op) ?? 0)) out[op] = [ha.get(op) ?? 0, hb.get(op) ?? 0];
  return out;
}

// ---------------------------------------------------------------------------------------------
// In memory (bench)

export interface LoadedModel {
  spec: ModelSpec;
  graph: Graph;
  /** Where the tfjs graph came from, for the doc. */
  source: string;
  weightBytes: number;
  onnx: string | null;
}

export interface PeerPaths {
  shared: string;
  onnxCache: string;
}

export async function loadModel(key: string, paths: PeerPaths, peer: PeerSetup, log: (s: string) => void): Promise<LoadedModel> {
  return key === 'vit-tiny' ? loadVitTiny(paths, peer, log) : loadVitB(paths, peer, log);
}

async function loadVitTiny(paths: PeerPaths, peer: PeerSetup, log: (s: string) => void): Promise<LoadedModel> {
  const spec = MODELS['vit-tiny'];
  let dir = embeddedModelDir();
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    if (!fs.existsSync(path.join(FALLBACK_TINY_DIR, 'model.json'))) {
      throw new TurboInputError(path.join(embeddedModelDir(), 'model.json'), 'not found (the embedded ViT-Tiny; regenerate it with node dist/scripts/convert-embedded-model.js)');
    }
    log(`note: ${path.relative(ROOT, embeddedModelDir())} missing, using ${path.relative(ROOT, FALLBACK_TINY_DIR)}`);
    dir = FALLBACK_TINY_DIR;
  }
  const graph = await readGraphModel(dir);
  let onnx: string | null = null;
  if (!peer.skipped) onnx = exportOnnx(peer, tinyCheckpoint(paths.shared), paths.onnxCache, spec.onnxName, log);
  return { spec, graph, source: path.relative(ROOT, dir), weightBytes: weightBytes(graph), onnx };
}

async function loadVitB(paths: PeerPaths, peer: PeerSetup, log: (s: string) => void): Promise<LoadedModel> {
  const spec = MODELS['vit-b'];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-vitb-'));
  try {
    log('writing the random ViT-B/16-224 checkpoint (seed 0) and converting it');
    const { weights, config } = writeRandomVit(dir, VIT_B16_224, 0);
    const graph = await convertVitCheckpoint(weights, config);
    let onnx: string | null = null;
    if (!peer.skipped) onnx = exportOnnx(peer, dir, paths.onnxCache, spec.onnxName, log);
    return { spec, graph, source: 'scripts/random_vit.ts (VIT_B16_224, seed 0) -> converters/vit.ts convertVitCheckpoint', weightBytes: weightBytes(graph), onnx };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// On disk (bench-native, bench-savedmodel: worker processes load from directories)

/** The model's tfjs graph directory and its safetensors checkpoint (ViT-B: both written into `tmp`). */
export async function modelOnDisk(key: string, shared: string, tmp: string, log: (s: string) => void): Promise<{ graphDir: string; checkpoint: string }> {
  if (key === 'vit-tiny') return { graphDir: embeddedModelDir(), checkpoint: tinyCheckpoint(shared) };
  if (key !== 'vit-b') throw new Error(`--models: unknown model '${key}' (vit-tiny, vit-b)`);
  log('writing the random ViT-B/16-224 checkpoint (seed 0) and converting it');
  const checkpoint = path.join(tmp, 'vit-b-ckpt');
  fs.mkdirSync(checkpoint);
  const { weights, config } = writeRandomVit(checkpoint, VIT_B16_224, 0);
  const graphDir = path.join(tmp, 'vit-b-graph');
  await convertVitCheckpointTo(weights, config, graphDir);
  return { graphDir, checkpoint };
}
