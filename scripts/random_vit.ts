// Deterministic random-weight ViT checkpoints (PyTorch layout) for benchmarks and converter tests:
// the network shape is what matters for speed, so nothing large is ever committed. timm names by
// default; HF transformers names carry the same values (timm's fused qkv split into query/key/value).
// Run as a script it writes the benchmarks' ViT-B/16-224 into a directory, e.g. to export it by
// hand with scripts/bench/export_onnx.py --checkpoint OUT_DIR:
//   node dist/scripts/random_vit.js OUT_DIR [--seed 0]

import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { TensorToWrite, writeSafetensors } from '../converters/safetensors';
import { runProgram } from '../src/cli/run';

export interface VitShape {
  hidden: number;
  layers: number;
  heads: number;
  mlp: number;
  image: number;
  patch: number;
  classes: number;
}

export type VitNaming = 'timm' | 'hf';

export const VIT_B16_224: VitShape = { hidden: 768, layers: 12, heads: 12, mlp: 3072, image: 224, patch: 16, classes: 1000 };

/** xorshift32: tiny, seeded, and the same on every machine. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
}

export function timmTensorShapes(v: VitShape): [string, number[]][] {
  const n = (v.image / v.patch) ** 2 + 1;
  const t: [string, number[]][] = [
    ['patch_embed.proj.weight', [v.hidden, 3, v.patch, v.patch]],
    ['patch_embed.proj.bias', [v.hidden]],
    ['cls_token', [1, 1, v.hidden]],
    ['pos_embed', [1, n, v.hidden]],
  ];
  for (let i = 0; i < v.layers; i++) {
    const b = `blocks.${i}`;
    t.push(
      [`${b}.norm1.weight`, [v.hidden]],
      [`${b}.norm1.bias`, [v.hidden]],
      [`${b}.attn.qkv.weight`, [3 * v.hidden, v.hidden]],
      [`${b}.attn.qkv.bias`, [3 * v.hidden]],
      [`${b}.attn.proj.weight`, [v.hidden, v.hidden]],
      [`${b}.attn.proj.bias`, [v.hidden]],
      [`${b}.norm2.weight`, [v.hidden]],
      [`${b}.norm2.bias`, [v.hidden]],
      [`${b}.mlp.fc1.weight`, [v.mlp, v.hidden]],
      [`${b}.mlp.fc1.bias`, [v.mlp]],
      [`${b}.mlp.fc2.weight`, [v.hidden, v.mlp]],
      [`${b}.mlp.fc2.bias`, [v.hidden]],
    );
  }
  t.push(['norm.weight', [v.hidden]], ['norm.bias', [v.hidden]], ['head.weight', [v.classes, v.hidden]], ['head.bias', [v.classes]]);
  return t;
}

/**
 * Random timm tensors whose values are generated when written (a ViT-B is 350 MB). They draw from
 * one sequence, so they must be consumed in order, once, as writeSafetensors does.
 */
export function randomTimmTensors(v: VitShape, seed = 0): TensorToWrite[] {
  const next = rng(seed + 1);
  return timmTensorShapes(v).map(([name, shape]) => ({
    name,
    shape,
    data: () => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      // LayerNorm gains near 1 keep activations in a realistic range through 12 blocks.
      const isGain = /norm\d?\.weight$/.test(name);
      for (let i = 0; i < data.length; i++) data[i] = isGain ? 1 + 0.02 * next() : 0.02 * next();
      return data;
    },
  }));
}

const HF_BLOCK: Record<string, string> = {
  'norm1.weight': 'layernorm_before.weight',
  'norm1.bias': 'layernorm_before.bias',
  'attn.proj.weight': 'attention.output.dense.weight',
  'attn.proj.bias': 'attention.output.dense.bias',
  'norm2.weight': 'layernorm_after.weight',
  'norm2.bias': 'layernorm_after.bias',
  'mlp.fc1.weight': 'intermediate.dense.weight',
  'mlp.fc1.bias': 'intermediate.dense.bias',
  'mlp.fc2.weight': 'output.dense.weight',
  'mlp.fc2.bias': 'output.dense.bias',
};

const HF_TOP: Record<string, string> = {
  'patch_embed.proj.weight': 'vit.embeddings.patch_embeddings.projection.weight',
  'patch_embed.proj.bias': 'vit.embeddings.patch_embeddings.projection.bias',
  cls_token: 'vit.embeddings.cls_token',
  pos_embed: 'vit.embeddings.position_embeddings',
  'norm.weight': 'vit.layernorm.weight',
  'norm.bias': 'vit.layernorm.bias',
  'head.weight': 'classifier.weight',
  'head.bias': 'classifier.bias',
};

/** The same weights under HF ViTForImageClassification names; materialises every tensor, in order. */
export function timmToHf(tensors: TensorToWrite[]): TensorToWrite[] {
  const out: TensorToWrite[] = [];
  for (const t of tensors) {
    const data = (typeof t.data === 'function' ? t.data() : t.data) as Float32Array;
    const m = /^blocks\.(\d+)\.(.*)$/.exec(t.name);
    if (!m) {
      out.push({ ...t, name: HF_TOP[t.name] ?? t.name, data });
      continue;
    }
    const prefix = `vit.encoder.layer.${m[1]}`;
    const qkv = /^attn\.qkv\.(weight|bias)$/.exec(m[2]);
    if (qkv) {
      // Rows [q; k; v]: each third is one HF projection (weight [C, C] or bias [C]).
      const c = t.shape[0] / 3;
      const per = data.length / 3;
      ['query', 'key', 'value'].forEach((p, j) =>
        out.push({ name: `${prefix}.attention.attention.${p}.${qkv[1]}`, shape: [c, ...t.shape.slice(1)], data: data.slice(j * per, (j + 1) * per) }),
      );
    } else {
      out.push({ ...t, name: `${prefix}.${HF_BLOCK[m[2]]}`, data });
    }
  }
  return out;
}

/** The config.json our converter reads for this shape. */
export function vitConfigJson(v: VitShape): Record<string, unknown> {
  return {
    architecture: 'vit',
    image_size: v.image,
    patch_size: v.patch,
    hidden_size: v.hidden,
    num_layers: v.layers,
    num_heads: v.heads,
    mlp_size: v.mlp,
    layer_norm_eps: 1e-6,
    num_classes: v.classes,
  };
}

/** Writes model.safetensors + config.json into `dir`; returns their paths. */
export function writeRandomVit(dir: string, v: VitShape, seed = 0, naming: VitNaming = 'timm'): { weights: string; config: string } {
  fs.mkdirSync(dir, { recursive: true });
  const tensors = randomTimmTensors(v, seed);
  const weights = path.join(dir, 'model.safetensors');
  writeSafetensors(weights, naming === 'hf' ? timmToHf(tensors) : tensors);
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify(vitConfigJson(v)));
  return { weights, config };
}

async function randomVitCli(args: string[]): Promise<number> {
  const program = new Command('random_vit')
    .description('Write a deterministic random-weight ViT-B/16-224 checkpoint (timm names): model.safetensors + config.json')
    .argument('<out-dir>', 'output directory (created if missing)')
    .option('--seed <n>', 'rng seed', (s) => Number(s), 0)
    .action((outDir: string, o: { seed: number }) => {
      if (!Number.isInteger(o.seed) || o.seed < 0) throw new Error(`--seed: '${o.seed}' is not an integer >= 0`);
      const { weights, config } = writeRandomVit(outDir, VIT_B16_224, o.seed);
      process.stdout.write(`${weights}\n${config}\n`);
    });
  return runProgram(program, args);
}

if (require.main === module) randomVitCli(process.argv.slice(2)).then((c) => (process.exitCode = c));
