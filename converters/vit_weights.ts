// ViT weights from a checkpoint with timm or HF transformers names, in PyTorch layout, turned into
// the layout TF graphs use: Linear [out, in] -> [in, out], Conv2d [out, in, kh, kw] -> HWIO.
// Both namings produce the same VitWeights, so the graph builder never sees a name.

import { TurboInputError } from '../src/errors';
import { SafetensorsFile } from './safetensors';
import { VitConfig, tokenCount } from './vit_config';

export interface Dense {
  /** [in, out] */
  w: Float32Array;
  b: Float32Array;
  in: number;
  out: number;
}

export interface Norm {
  gamma: Float32Array;
  beta: Float32Array;
}

export interface VitBlockWeights {
  norm1: Norm;
  q: Dense;
  k: Dense;
  v: Dense;
  proj: Dense;
  norm2: Norm;
  fc1: Dense;
  fc2: Dense;
}

export interface VitWeights {
  /** [p, p, channels, hidden] */
  patchW: Float32Array;
  patchB: Float32Array;
  /** [1, 1, hidden] */
  cls: Float32Array;
  /** [1, tokens, hidden] */
  pos: Float32Array;
  blocks: VitBlockWeights[];
  norm: Norm;
  head: Dense;
}

export type Naming = 'timm' | 'hf';

/** One tensor per naming that tells them apart. */
const MARKERS: Record<Naming, string> = {
  timm: 'patch_embed.proj.weight',
  hf: 'vit.embeddings.patch_embeddings.projection.weight',
};

export function detectNaming(st: SafetensorsFile): Naming {
  for (const [naming, marker] of Object.entries(MARKERS) as [Naming, string][]) if (st.tensors.has(marker)) return naming;
  throw new TurboInputError(
    st.path,
    `not a ViT checkpoint with timm or HF names: missing tensor '${MARKERS.timm}' (timm) or '${MARKERS.hf}' (HF); it has ${st.tensors.size} tensors`,
  );
}

export async function loadVitWeights(st: SafetensorsFile, cfg: VitConfig): Promise<{ naming: Naming; weights: VitWeights }> {
  const naming = detectNaming(st);
  const r = new Reader(st, naming);
  const weights = naming === 'timm' ? await timm(r, cfg) : await hf(r, cfg);
  return { naming, weights };
}

async function timm(r: Reader, cfg: VitConfig): Promise<VitWeights> {
  const { hidden: C, mlp: M } = cfg;
  const blocks: VitBlockWeights[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const b = `blocks.${i}`;
    const qkvW = await r.get(`${b}.attn.qkv.weight`, [3 * C, C]);
    const qkvB = await r.get(`${b}.attn.qkv.bias`, [3 * C]);
    // timm's fused qkv rows are [q; k; v], each [C, C] in [out, in] layout.
    const part = (j: number): Dense => ({
      w: transpose2d(qkvW.subarray(j * C * C, (j + 1) * C * C), C, C),
      b: qkvB.slice(j * C, (j + 1) * C),
      in: C,
      out: C,
    });
    blocks.push({
      norm1: await r.norm(`${b}.norm1`, C),
      q: part(0),
      k: part(1),
      v: part(2),
      proj: await r.linear(`${b}.attn.proj`, C, C),
      norm2: await r.norm(`${b}.norm2`, C),
      fc1: await r.linear(`${b}.mlp.fc1`, C, M),
      fc2: await r.linear(`${b}.mlp.fc2`, M, C),
    });
  }
  return {
    ...(await stem(r, cfg, { conv: 'patch_embed.proj', cls: 'cls_token', pos: 'pos_embed' })),
    blocks,
    // timm's global_pool='avg' models norm after pooling, as fc_norm (their 'norm' is an Identity).
    norm: await r.norm(cfg.pool === 'avg' && r.has('fc_norm.weight') ? 'fc_norm' : 'norm', C),
    head: await r.linear('head', C, cfg.classes),
  };
}

async function hf(r: Reader, cfg: VitConfig): Promise<VitWeights> {
  const { hidden: C, mlp: M } = cfg;
  const blocks: VitBlockWeights[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const b = `vit.encoder.layer.${i}`;
    blocks.push({
      norm1: await r.norm(`${b}.layernorm_before`, C),
      q: await r.linear(`${b}.attention.attention.query`, C, C),
      k: await r.linear(`${b}.attention.attention.key`, C, C),
      v: await r.linear(`${b}.attention.attention.value`, C, C),
      proj: await r.linear(`${b}.attention.output.dense`, C, C),
      norm2: await r.norm(`${b}.layernorm_after`, C),
      fc1: await r.linear(`${b}.intermediate.dense`, C, M),
      fc2: await r.linear(`${b}.output.dense`, M, C),
    });
  }
  return {
    ...(await stem(r, cfg, {
      conv: 'vit.embeddings.patch_embeddings.projection',
      cls: 'vit.embeddings.cls_token',
      pos: 'vit.embeddings.position_embeddings',
    })),
    blocks,
    norm: await r.norm('vit.layernorm', C),
    head: await r.linear('classifier', C, cfg.classes),
  };
}

async function stem(r: Reader, cfg: VitConfig, names: { conv: string; cls: string; pos: string }) {
  const { hidden: C, patchSize: p, channels: ch } = cfg;
  const convW = await r.get(`${names.conv}.weight`, [C, ch, p, p]);
  return {
    patchW: oihwToHwio(convW, C, ch, p, p),
    patchB: await r.get(`${names.conv}.bias`, [C]),
    cls: await r.get(names.cls, [1, 1, C]),
    pos: await r.get(names.pos, [1, tokenCount(cfg), C]),
  };
}

/** Reads float tensors by name and checks their shapes against what the config implies. */
class Reader {
  constructor(
    private readonly st: SafetensorsFile,
    private readonly naming: Naming,
  ) {}

  has(name: string): boolean {
    return this.st.tensors.has(name);
  }

  async get(name: string, shape: number[]): Promise<Float32Array> {
    const info = this.st.tensors.get(name);
    if (!info) throw new TurboInputError(this.st.path, `missing tensor '${name}' (${this.naming} names)`);
    if (info.shape.join() !== shape.join()) {
      throw new TurboInputError(this.st.path, `tensor '${name}' has shape [${info.shape}], the config implies [${shape}]`);
    }
    return this.st.readFloat(name);
  }

  /** PyTorch Linear: weight [out, in] -> [in, out]. */
  async linear(name: string, inDim: number, outDim: number): Promise<Dense> {
    const w = await this.get(`${name}.weight`, [outDim, inDim]);
    return { w: transpose2d(w, outDim, inDim), b: await this.get(`${name}.bias`, [outDim]), in: inDim, out: outDim };
  }

  async norm(name: string, dim: number): Promise<Norm> {
    return { gamma: await this.get(`${name}.weight`, [dim]), beta: await this.get(`${name}.bias`, [dim]) };
  }
}

/** [rows, cols] -> [cols, rows] */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** Conv2d weight [out, in, kh, kw] -> TF's [kh, kw, in, out]. */
export function oihwToHwio(a: Float32Array, o: number, i: number, h: number, w: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let co = 0; co < o; co++)
    for (let ci = 0; ci < i; ci++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((y * w + x) * i + ci) * o + co] = a[((co * i + ci) * h + y) * w + x];
  return out;
}
