// The TurboDropTokens test page (bundled by esbuild, served by scripts/browser/harness.ts): functions
// on window.turboDropPage that spec/browser/drop_tokens.spec.ts calls with page.evaluate. It imports
// the package's browser entry only, as an app would.
import * as tf from '@tensorflow/tfjs-core';
import { countingReads, trySetBackend } from './page_helpers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { dropTokens, hasFusedKernel, registerTurboOps } from '../../src/browser';
import type { TurboDropTokensAttrs } from '../../src/browser';
import { runGraph } from '../../src/blip/model';
import { mulberry32 } from '../../src/rng';


interface DropCase {
  name: string;
  /** probs [B, H, T, N]. */
  shape: [number, number, number, number];
  channels: number;
  maskShape: number[];
  startCount: number;
  attrs: TurboDropTokensAttrs;
  /**
   * How the probabilities are drawn: 'random' as multiples of 2^-12 in [0, 1), so every partial sum
   * is exact in float32 (under 2^9 with 12 fraction bits) and the cpu kernel's float64 sum and the
   * GPU's float32 one give the same scores in any order (with continuous values the two roundings
   * reorder near-ties, as any two float32 reductions do: the BLIP graphs below check real
   * attention); 'coarse' from {0, 1/8, 2/8} (many exact ties); 'equal' all 0.25.
   */
  probs: 'random' | 'coarse' | 'equal';
}

/** BLIP-sized layers (577 image tokens, 12 heads), both rankings, a later layer, ties, a broadcast mask, the clamps. */
function dropCases(): DropCase[] {
  const blip = { dropRate: 0.07, dropMax: 0.8 };
  return [
    { name: 'BLIP layer 0, sum over text positions', shape: [2, 12, 35, 577], channels: 768, maskShape: [2, 1, 1, 577], startCount: 577, attrs: { ...blip, layer: 0, firstTokenOnly: false }, probs: 'random' },
    { name: 'BLIP layer 0, first text token only', shape: [2, 12, 35, 577], channels: 768, maskShape: [2, 1, 1, 577], startCount: 577, attrs: { ...blip, layer: 0, firstTokenOnly: true }, probs: 'random' },
    { name: 'BLIP layer 1 (536 tokens left of 577)', shape: [3, 12, 14, 536], channels: 64, maskShape: [3, 1, 1, 536], startCount: 577, attrs: { ...blip, layer: 1, firstTokenOnly: false }, probs: 'random' },
    { name: 'many exact ties, one mask broadcast over the batch', shape: [3, 2, 3, 40], channels: 5, maskShape: [1, 1, 1, 40], startCount: 40, attrs: { dropRate: 0.3, dropMax: 0.5, layer: 0, firstTokenOnly: false }, probs: 'coarse' },
    { name: 'every score tied (index order), [B, N] mask', shape: [2, 4, 6, 33], channels: 7, maskShape: [2, 33], startCount: 33, attrs: { dropRate: 0.1, dropMax: 0.8, layer: 2, firstTokenOnly: true }, probs: 'equal' },
    { name: 'N0 above N: clamped to keep all N', shape: [1, 2, 2, 10], channels: 3, maskShape: [1, 1, 10], startCount: 100, attrs: { dropRate: 0.07, dropMax: 0.8, layer: 0, firstTokenOnly: false }, probs: 'random' },
    { name: 'count 0: clamped to keep 1', shape: [2, 3, 4, 17], channels: 4, maskShape: [2, 1, 1, 17], startCount: 17, attrs: { dropRate: 1, dropMax: 1, layer: 3, firstTokenOnly: false }, probs: 'coarse' },
  ];
}

function inputsOf(c: DropCase, seed: number): { probs: Float32Array; tokens: Float32Array; mask: Float32Array } {
  const rand = mulberry32(seed);
  const [b, h, t, n] = c.shape;
  const draw = { random: () => Math.floor(rand() * 4096) / 4096, coarse: () => Math.floor(rand() * 3) / 8, equal: () => 0.25 }[c.probs];
  const probs = Float32Array.from({ length: b * h * t * n }, draw);
  const tokens = Float32Array.from({ length: b * n * c.channels }, () => rand() * 2 - 1);
  // An additive attention mask: 0 where attended, a large negative elsewhere.
  const mask = Float32Array.from({ length: c.maskShape.reduce((x, y) => x * y, 1) }, () => (rand() < 0.2 ? -10000 : 0));
  return { probs, tokens, mask };
}


export interface DropCaseResult {
  name: string;
  keep: number;
  /** The registry holds a kernel other than the composite for TurboDropTokens on this backend. */
  fused: boolean;
  /** Kernel names tf.profile saw: the fused kernel runs no other kernel. */
  kernels: string[];
  /** readSync/read calls on the backend during dropTokens. */
  reads: number;
  /** Kept indices equal the cpu kernel's, in order. */
  keptEqual: boolean;
  /** max |x − cpu| over the kept tokens and over the kept mask (gathers: 0 expected). */
  tokensDiff: number;
  maskDiff: number;
  shapesEqual: boolean;
}

type Out = { tokens: number[]; mask: number[]; kept: number[]; shapes: number[][] };

async function runDrop(c: DropCase, seed: number): Promise<Out> {
  const { probs, tokens, mask } = inputsOf(c, seed);
  const r = dropTokens(tf.tensor4d(probs, c.shape), tf.tensor3d(tokens, [c.shape[0], c.shape[3], c.channels]), tf.tensor(mask, c.maskShape), c.startCount, c.attrs);
  const out = { tokens: Array.from(await r.tokens.data()), mask: Array.from(await r.mask.data()), kept: Array.from(await r.kept.data()), shapes: [r.tokens.shape, r.mask.shape, r.kept.shape] };
  tf.dispose([r.tokens, r.mask, r.kept]);
  return out;
}

const maxAbs = (a: number[], b: number[]) => (a.length === b.length ? a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0) : Infinity);

/** Every drop case through `backend`'s TurboDropTokens kernel, against the cpu kernel run on the same inputs in this page. */
async function fusedDropCases(backend: string): Promise<DropCaseResult[]> {
  const out: DropCaseResult[] = [];
  for (const [i, c] of dropCases().entries()) {
    const seed = 1000 + i;
    await trySetBackend('cpu');
    const cpu = await runDrop(c, seed);
    await trySetBackend(backend);
    const fused = hasFusedKernel('TurboDropTokens', backend);
    const { probs, tokens, mask } = inputsOf(c, seed);
    const ins = [tf.tensor4d(probs, c.shape), tf.tensor3d(tokens, [c.shape[0], c.shape[3], c.channels]), tf.tensor(mask, c.maskShape)] as const;
    // Uploaded first, so the reads counted are the kernel's alone.
    const staged = tf.tidy(() => ins.map((t) => tf.mul(t, 1)));
    await Promise.all(staged.map((t) => t.data()));
    const { value: r, reads } = countingReads(() => dropTokens(staged[0] as tf.Tensor4D, staged[1] as tf.Tensor3D, staged[2], c.startCount, c.attrs));
    const profile = await tf.profile(() => {
      const p = dropTokens(staged[0] as tf.Tensor4D, staged[1] as tf.Tensor3D, staged[2], c.startCount, c.attrs);
      return [p.tokens, p.mask, p.kept];
    });
    const gpu: Out = { tokens: Array.from(await r.tokens.data()), mask: Array.from(await r.mask.data()), kept: Array.from(await r.kept.data()), shapes: [r.tokens.shape, r.mask.shape, r.kept.shape] };
    tf.dispose([...ins, ...staged, r.tokens, r.mask, r.kept, ...(profile.result as tf.Tensor[])]);
    out.push({
      name: c.name,
      keep: cpu.shapes[2][1],
      fused,
      kernels: profile.kernelNames,
      reads,
      keptEqual: JSON.stringify(gpu.kept) === JSON.stringify(cpu.kept),
      tokensDiff: maxAbs(gpu.tokens, cpu.tokens),
      maskDiff: maxAbs(gpu.mask, cpu.mask),
      shapesEqual: JSON.stringify(gpu.shapes) === JSON.stringify(cpu.shapes),
    });
  }
  return out;
}

/** A graph input as the reference records it (spec/blip/blip_fixture.ts ArrayData). */
interface Feed {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: unknown;
}

export interface GraphDropRequest {
  backend: string;
  /** model.json of a text graph with TurboDropTokens nodes (applyTextDrop in Node). */
  modelUrl: string;
  feeds: Record<string, Feed>;
  /** Output 2 (kept indices) of each drop node, layer order. */
  keptOutputs: string[];
}

/** Runs a text-drop graph on `backend` and returns each layer's kept indices, composed back to the original image-token order. */
async function graphKeptIndices(req: GraphDropRequest): Promise<{ fused: boolean; keptIndices: number[][][] }> {
  if (!(await trySetBackend(req.backend))) throw new Error(`backend ${req.backend} failed to initialise`);
  registerTurboOps();
  const model = await loadGraphModel(req.modelUrl);
  const feeds = Object.fromEntries(Object.entries(req.feeds).map(([k, v]) => [k, tf.tensor(v.data as number[], v.shape, v.dtype)]));
  const outs = await runGraph(model, feeds, req.keptOutputs);
  const keptIndices: number[][][] = [];
  let order: number[][] | undefined;
  for (const kept of outs) {
    const rows = (await kept.array()) as number[][];
    order = rows.map((row, b) => row.map((i) => (order ? order[b][i] : i)));
    keptIndices.push(order);
  }
  tf.dispose([...outs, ...Object.values(feeds)]);
  model.dispose();
  return { fused: hasFusedKernel('TurboDropTokens', req.backend), keptIndices };
}

declare global {
  interface Window {
    turboDropPage: typeof api;
  }
}
const api = { fusedDropCases, graphKeptIndices, hasBackend: trySetBackend };
window.turboDropPage = api;
