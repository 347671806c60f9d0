// The network shape of a ViT checkpoint, read from its config.json. Our own configs (shared/models,
// scripts/random_vit.ts) use timm-style keys; HF's ViTConfig keys are accepted as aliases so a
// transformers config.json works unchanged.

import * as fsp from 'fs/promises';
import { TurboInputError } from '../src/errors';

export interface VitConfig {
  imageSize: number;
  patchSize: number;
  channels: number;
  hidden: number;
  layers: number;
  heads: number;
  mlp: number;
  layerNormEps: number;
  classes: number;
  /** timm's global_pool: 'token' (the class token, default) or 'avg' (mean of the patch tokens, then fc_norm). */
  pool: 'token' | 'avg';
}

/** Ours first, then HF's name for the same field. */
const KEYS: Record<Exclude<keyof VitConfig, 'layerNormEps' | 'classes' | 'channels' | 'pool'>, string[]> = {
  imageSize: ['image_size'],
  patchSize: ['patch_size'],
  hidden: ['hidden_size'],
  layers: ['num_layers', 'num_hidden_layers'],
  heads: ['num_heads', 'num_attention_heads'],
  mlp: ['mlp_size', 'intermediate_size'],
};

export async function readVitConfig(file: string): Promise<VitConfig> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TurboInputError(file, code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a directory, expected config.json' : String(e));
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TurboInputError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new TurboInputError(file, 'not a JSON object');
  return parseVitConfig(file, json as Record<string, unknown>);
}

export function parseVitConfig(file: string, j: Record<string, unknown>): VitConfig {
  const int = (names: string[], fallback?: number): number => {
    const key = names.find((k) => j[k] !== undefined);
    const v = key === undefined ? fallback : j[key];
    if (v === undefined) throw new TurboInputError(file, `missing '${names[0]}'`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new TurboInputError(file, `'${key}' must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const image = j.image_size;
  if (Array.isArray(image)) throw new TurboInputError(file, `'image_size' must be one number (square images), got ${JSON.stringify(image)}`);
  const cfg: VitConfig = {
    imageSize: int(KEYS.imageSize),
    patchSize: int(KEYS.patchSize),
    channels: int(['num_channels'], 3),
    hidden: int(KEYS.hidden),
    layers: int(KEYS.layers),
    heads: int(KEYS.heads),
    mlp: int(KEYS.mlp),
    layerNormEps: 1e-6,
    classes: int(['num_classes', 'num_labels'], labelCount(j)),
    pool: 'token',
  };
  const pool = j.global_pool;
  if (pool !== undefined && pool !== '' && pool !== 'token' && pool !== 'avg') {
    throw new TurboInputError(file, `'global_pool' must be 'token' or 'avg', got ${JSON.stringify(pool)}`);
  }
  if (pool === 'avg') cfg.pool = 'avg';
  const eps = j.layer_norm_eps;
  if (eps !== undefined) {
    if (typeof eps !== 'number' || !(eps > 0)) throw new TurboInputError(file, `'layer_norm_eps' must be a positive number, got ${JSON.stringify(eps)}`);
    cfg.layerNormEps = eps;
  }
  if (cfg.hidden % cfg.heads) throw new TurboInputError(file, `hidden_size ${cfg.hidden} is not divisible by num_heads ${cfg.heads}`);
  if (cfg.imageSize % cfg.patchSize) throw new TurboInputError(file, `image_size ${cfg.imageSize} is not divisible by patch_size ${cfg.patchSize}`);
  return cfg;
}

/** HF configs give the classes as id2label rather than a count. */
function labelCount(j: Record<string, unknown>): number | undefined {
  const m = j.id2label;
  return m && typeof m === 'object' ? Object.keys(m).length : undefined;
}

/** Patches plus the class token. */
export function tokenCount(c: VitConfig): number {
  return (c.imageSize / c.patchSize) ** 2 + 1;
}
