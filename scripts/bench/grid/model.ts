// eval-grid's checks of the model directory before anything runs: model.json, preprocessing,
// widths for the FLOP estimate, the signature, and that it is a transformer the rewrite handles.

import * as fs from 'fs';
import * as path from 'path';
import { TurboInputError } from '../../../src/errors';
import { Graph } from '../../../src/graph/ir';
import { Preprocessing, readPreprocessing } from '../../../src/image/preprocess';
import { NoTransformerBlocksError, planTurbo } from '../../../src/rewrite/pass';
import { DEFAULT_TURBO_OPTIONS } from '../../../src/turbo/options';

/**
 * ViT-Tiny/16-224 preprocessing, copied from shared/models/vit-tiny-patch16-224/config.json, for
 * model directories without a preprocessing.json (e.g. a tensorflowjs_converter export).
 */
export const VIT_TINY_PREPROCESSING: Readonly<Preprocessing> = Object.freeze<Preprocessing>({
  color: 'RGB',
  resize_shortest_side: 248,
  interpolation: 'bicubic',
  center_crop: 224,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
});

/** ViT-Tiny widths, for the FLOP estimate when the model directory does not say. */
const VIT_TINY_DIMS = { hidden: 192, mlp: 768 };

export function checkModelDir(dir: string): void {
  if (!fs.existsSync(dir)) throw new TurboInputError(dir, 'model directory not found');
  const json = dir.endsWith('.json') ? dir : path.join(dir, 'model.json');
  if (!fs.existsSync(json)) throw new TurboInputError(json, 'not found (expected a tfjs graph model directory)');
}

export async function modelPreprocessing(dir: string, note: (s: string) => void): Promise<{ prep: Preprocessing; source: string }> {
  if (fs.existsSync(path.join(dir, 'preprocessing.json'))) return { prep: await readPreprocessing(dir), source: 'preprocessing.json' };
  note(`note: ${path.join(dir, 'preprocessing.json')} not found; using the ViT-Tiny preprocessing (RGB, shortest side 248 bicubic, centre crop 224, mean = std = 0.5)\n`);
  return { prep: { ...VIT_TINY_PREPROCESSING }, source: 'default (ViT-Tiny config.json)' };
}

/** Hidden and MLP widths for the FLOP estimate: meta.json `network` (our converter) or `config` (HF), else ViT-Tiny. */
export function modelDims(dir: string, note: (s: string) => void): { hidden: number; mlp: number } {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    const hidden = meta.network?.hidden ?? meta.config?.hidden_size;
    const mlp = meta.network?.mlp ?? meta.config?.intermediate_size;
    if (hidden > 0 && mlp > 0) return { hidden, mlp };
  } catch {
    // no or unreadable meta.json: fall through
  }
  note(`note: no widths in ${path.join(dir, 'meta.json')}; the FLOP ratio assumes ViT-Tiny (hidden 192, MLP 768)\n`);
  return VIT_TINY_DIMS;
}

/** [N, 3, H, W] input and [N, classes] output, from the model's signature when it has one. */
export function checkSignature(graph: Graph, jsonPath: string, crop: number): number | undefined {
  const sig = graph.modelJson.signature as
    | { inputs?: Record<string, { tensorShape?: { dim?: { size?: string }[] } }>; outputs?: Record<string, { tensorShape?: { dim?: { size?: string }[] } }> }
    | undefined;
  const dims = (t?: { tensorShape?: { dim?: { size?: string }[] } }) => t?.tensorShape?.dim?.map((d) => Number(d.size ?? -1));
  const inputs = Object.values(sig?.inputs ?? {});
  if (inputs.length > 1) throw new TurboInputError(jsonPath, `has ${inputs.length} inputs; expected one image input`);
  const shape = dims(inputs[0]);
  if (shape && (shape.length !== 4 || shape[1] !== 3)) {
    throw new TurboInputError(jsonPath, `input shape [${shape.join(', ')}] is not NCHW [-1, 3, ${crop}, ${crop}]`);
  }
  if (shape && shape[2] > 0 && shape[2] !== crop) throw new TurboInputError(jsonPath, `input is ${shape[2]}x${shape[3]} but the preprocessing crops ${crop}x${crop}`);
  const out = dims(Object.values(sig?.outputs ?? {})[0]);
  return out && out.length === 2 && out[1] > 0 ? out[1] : undefined;
}

export function plan(graph: Graph, jsonPath: string, r: number) {
  try {
    return planTurbo(graph, { r, rThreshold: DEFAULT_TURBO_OPTIONS.rThreshold });
  } catch (e) {
    if (e instanceof NoTransformerBlocksError) throw new TurboInputError(jsonPath, e.message);
    throw e;
  }
}
