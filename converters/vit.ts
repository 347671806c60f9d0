// A pre-norm ViT checkpoint (safetensors, timm or HF names) -> tfjs graph model, built with the op
// patterns tensorflowjs_converter emits for HF TFViTForImageClassification (docs/PYTHON-EXPORT.md,
// "Op patterns of the real converter output"), because the Turbo rewriter matches that structure:
//   pixel_values NCHW -> Transpose -> _FusedConv2D -> Reshape [-1, P, C]
//   ConcatV2([Tile(cls), patches], 1) -> AddV2(pos [1, N, C])
//   blocks: LayerNorm (10 ops) -> q, k, v dense -> Reshape [-1, N, H, d] -> Transpose
//           -> BatchMatMulV2(q, k, adj_y) -> Mul 1/sqrt(d) -> Softmax -> BatchMatMulV2(P, v)
//           -> Transpose -> Reshape [-1, N, C] -> dense -> AddV2 residual
//           -> LayerNorm -> dense -> GELU (Erf) -> dense -> AddV2 residual
//   LayerNorm -> StridedSlice [:, 0, :] -> _FusedMatMul head -> Identity (signature "logits")
// Dense layers on [B, N, C] are Reshape [-1, C] -> 2-D MatMul -> Reshape [-1, N, C'], never a
// rank-3 BatchMatMulV2 (3.3x slower on wasm). Reshape targets are constants [-1, N, ...] so that
// src/rewrite/shapes.ts can make the token count dynamic.

import * as path from 'path';
import { Graph } from '../src/graph/ir';
import { WriteOptions, writeGraphModel } from '../src/graph/model_io';
import { ModelJson } from '../src/graph/types';
import { openSafetensors } from './safetensors';
import { TfBuilder } from '../src/graph/tf_builder';
import { VitConfig, readVitConfig, tokenCount } from './vit_config';
import { Dense, Naming, Norm, VitWeights, loadVitWeights } from './vit_weights';

export const CONVERTER_NAME = 'tfjs-turbo ViT converter v0.1.0';

export interface VitBuildOptions {
  /**
   * How dense layers on token activations add their bias: 'fused' = `_FusedMatMul` (BiasAdd) on the
   * 2-D matmul; 'separate' = MatMul, Reshape back, BiasAdd (what tensorflowjs_converter emits).
   * On wasm the two are within noise for a whole ViT-Tiny at batch 8 (fused 2233 ms vs separate
   * 2241 ms, median of 20 interleaved runs); 'fused' is the default for being no slower with 72
   * fewer nodes.
   */
  denseBias?: 'fused' | 'separate';
}

export async function convertVitCheckpoint(weightsPath: string, configPath: string, options: VitBuildOptions = {}): Promise<Graph> {
  const cfg = await readVitConfig(configPath);
  const st = await openSafetensors(weightsPath);
  try {
    const { naming, weights } = await loadVitWeights(st, cfg);
    return buildVitGraph(cfg, weights, { ...options, source: { checkpoint: path.basename(weightsPath), naming } });
  } finally {
    await st.close();
  }
}

/** Converts and writes model.json + 4 MiB shards atomically (OUT_DIR appears complete or not at all). */
export async function convertVitCheckpointTo(
  weightsPath: string,
  configPath: string,
  outDir: string,
  opts: VitBuildOptions & Pick<WriteOptions, 'overwrite' | 'onProgress'> = {},
): Promise<Graph> {
  const graph = await convertVitCheckpoint(weightsPath, configPath, opts);
  await writeGraphModel(graph, outDir, { overwrite: opts.overwrite, onProgress: opts.onProgress });
  return graph;
}

export function buildVitGraph(
  cfg: VitConfig,
  w: VitWeights,
  options: VitBuildOptions & { source?: { checkpoint: string; naming: Naming } } = {},
): Graph {
  const modelJson: ModelJson = {
    format: 'graph-model',
    generatedBy: 'tfjs-turbo converters/vit.ts (PyTorch-layout safetensors)',
    convertedBy: CONVERTER_NAME,
    modelTopology: { node: [], library: {}, versions: {} },
    signature: {
      inputs: { pixel_values: tensorInfo('pixel_values:0', [-1, cfg.channels, cfg.imageSize, cfg.imageSize]) },
      outputs: { logits: tensorInfo('Identity:0', [-1, cfg.classes]) },
    },
    ...(options.source && { userDefinedMetadata: { source: options.source } }),
    weightsManifest: [],
  };
  const graph = new Graph(modelJson, []);
  new VitEmitter(new TfBuilder(graph), cfg, options.denseBias ?? 'fused').emit(w);
  graph.topoSort();
  return graph;
}

function tensorInfo(name: string, shape: number[]) {
  return { name, dtype: 'DT_FLOAT', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) } };
}

class VitEmitter {
  private readonly n: number;

  constructor(
    private readonly b: TfBuilder,
    private readonly cfg: VitConfig,
    private readonly denseBias: 'fused' | 'separate',
  ) {
    this.n = tokenCount(cfg);
  }

  emit(w: VitWeights): void {
    let x = this.embeddings(w);
    w.blocks.forEach((blk, i) => {
      const s = `vit/encoder/layer_${i}`;
      const h = this.layerNorm(`${s}/norm1`, x, blk.norm1);
      const attn = this.attention(`${s}/attention`, h, blk);
      const x1 = this.b.binary(`${s}/add`, 'AddV2', attn, x);
      const h2 = this.layerNorm(`${s}/norm2`, x1, blk.norm2);
      const f1 = this.dense(`${s}/mlp/fc1`, h2, blk.fc1);
      const f2 = this.dense(`${s}/mlp/fc2`, this.gelu(`${s}/mlp/gelu`, f1), blk.fc2);
      x = this.b.binary(`${s}/output/add`, 'AddV2', f2, x1);
    });
    // timm: the class token after the final norm, or (global_pool='avg') the mean of the patch
    // tokens followed by fc_norm.
    const cls =
      this.cfg.pool === 'avg'
        ? this.layerNorm('vit/fc_norm', this.b.mean('vit/pool', this.b.stridedSlice('vit/patch_tokens', x, { begin: [0, 1, 0], end: [0, 0, 0], strides: [1, 1, 1], beginMask: 5, endMask: 7 }, 'float32'), [1], false), w.norm, 1)
        : this.b.stridedSlice('vit/pool', this.layerNorm('vit/layernorm', x, w.norm), { begin: [0, 0, 0], end: [0, 1, 0], strides: [1, 1, 1], beginMask: 5, endMask: 5, shrink: 2 }, 'float32');
    const wh = this.b.f32('classifier/kernel', [w.head.in, w.head.out], w.head.w);
    const bh = this.b.f32('classifier/bias', [w.head.out], w.head.b);
    const logits = this.b.fusedMatMulBias('classifier/BiasAdd', cls, wh, bh);
    this.b.unary('Identity', 'Identity', logits);
  }

  /** [B, 3, H, W] -> [B, N, C] with the class token first and position embeddings added. */
  private embeddings(w: VitWeights): string {
    const { b, cfg } = this;
    const { hidden: C, patchSize: p, channels: ch } = cfg;
    const s = 'vit/embeddings';
    const input = b.placeholder('pixel_values', [-1, ch, cfg.imageSize, cfg.imageSize]);
    const nhwc = b.transpose(`${s}/patch_embeddings/transpose`, input, [0, 2, 3, 1]);
    const kernel = b.f32(`${s}/patch_embeddings/projection/kernel`, [p, p, ch, C], w.patchW);
    const bias = b.f32(`${s}/patch_embeddings/projection/bias`, [C], w.patchB);
    const conv = b.fusedConv2dBias(`${s}/patch_embeddings/projection/BiasAdd`, nhwc, kernel, bias, p);
    const patches = b.reshape(`${s}/patch_embeddings/Reshape`, conv, [-1, this.n - 1, C]);
    // Class token tiled to the run-time batch: multiples = [B, 1, 1] from the input's shape.
    const batch = b.stridedSlice(`${s}/batch`, b.shape(`${s}/Shape`, input), { begin: [0], end: [1], strides: [1] }, 'int32');
    const ones = b.i32(`${s}/cls/ones`, [2], [1, 1]);
    const multiples = b.concat(`${s}/cls/multiples`, [batch, ones], 0, 'int32');
    const cls = b.tile(`${s}/cls/Tile`, b.f32(`${s}/cls_token`, [1, 1, C], w.cls), multiples);
    const tokens = b.concat(`${s}/concat`, [cls, patches], 1, 'float32');
    return b.binary(`${s}/add`, 'AddV2', tokens, b.f32(`${s}/position_embeddings`, [1, this.n, C], w.pos));
  }

  private attention(s: string, h: string, blk: VitWeights['blocks'][number]): string {
    const { b, cfg, n } = this;
    const { hidden: C, heads: H } = cfg;
    const d = C / H;
    const flat = b.reshape(`${s}/flatten`, h, [-1, C]);
    // [B*N, C] -> [B, H, N, d]
    const heads = (name: string, dense: Dense, i: number) =>
      b.transpose(`${s}/transpose${i ? `_${i}` : ''}`, b.reshape(`${s}/${name}/heads`, this.denseFlat(`${s}/${name}`, flat, dense), [-1, n, H, d]), [0, 2, 1, 3]);
    const q = heads('query', blk.q, 0);
    const k = heads('key', blk.k, 1);
    const v = heads('value', blk.v, 2);
    const scores = b.batchMatMul(`${s}/MatMul`, q, k, true);
    // Scaled after Q·Kᵀ like the real export; HF's extra AddV2(1e-9) before Softmax is left out
    // (softmax is shift-invariant, and the rewriter accepts logits with or without it).
    const scaled = b.binary(`${s}/truediv`, 'Mul', scores, b.scalar(`${s}/truediv_recip`, 1 / Math.sqrt(d)));
    const probs = b.unary(`${s}/Softmax`, 'Softmax', scaled);
    const ctx = b.batchMatMul(`${s}/MatMul_1`, probs, v, false);
    const merged = b.reshape(`${s}/Reshape_3`, b.transpose(`${s}/transpose_3`, ctx, [0, 2, 1, 3]), [-1, n, C]);
    return this.dense(`${s}/output/dense`, merged, blk.proj);
  }

  /** Dense on [B, N, in] -> [B, N, out]. */
  private dense(s: string, x: string, d: Dense): string {
    return this.denseFlat(s, this.b.reshape(`${s}/flatten`, x, [-1, d.in]), d);
  }

  /** Dense on an already flattened [B*N, in] -> [B, N, out]. */
  private denseFlat(s: string, x2d: string, d: Dense): string {
    const { b, n } = this;
    const w = b.f32(`${s}/kernel`, [d.in, d.out], d.w);
    const bias = b.f32(`${s}/bias`, [d.out], d.b);
    if (this.denseBias === 'fused') return b.reshape(`${s}/Reshape`, b.fusedMatMulBias(`${s}/MatMul`, x2d, w, bias), [-1, n, d.out]);
    return b.biasAdd(`${s}/BiasAdd`, b.reshape(`${s}/Reshape`, b.matMul(`${s}/MatMul`, x2d, w), [-1, n, d.out]), bias);
  }

  /** tf-keras LayerNormalization as grappler leaves it: moments + batch_normalization, 10 ops. */
  private layerNorm(s: string, x: string, norm: Norm, axis = 2): string {
    const { b, cfg } = this;
    const C = cfg.hidden;
    const mean = b.mean(`${s}/moments/mean`, x, [axis], true);
    const sq = b.binary(`${s}/moments/SquaredDifference`, 'SquaredDifference', x, mean);
    const variance = b.mean(`${s}/moments/variance`, sq, [axis], true);
    const a = b.binary(`${s}/batchnorm/add`, 'AddV2', variance, b.scalar(`${s}/batchnorm/add/y`, cfg.layerNormEps));
    const rs = b.unary(`${s}/batchnorm/Rsqrt`, 'Rsqrt', a);
    const g = b.binary(`${s}/batchnorm/mul`, 'Mul', rs, b.f32(`${s}/gamma`, [C], norm.gamma));
    const m2 = b.binary(`${s}/batchnorm/mul_2`, 'Mul', mean, g);
    const m1 = b.binary(`${s}/batchnorm/mul_1`, 'Mul', x, g);
    const sub = b.binary(`${s}/batchnorm/sub`, 'Sub', b.f32(`${s}/beta`, [C], norm.beta), m2);
    return b.binary(`${s}/batchnorm/add_1`, 'AddV2', m1, sub);
  }

  /** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), in the converter's op order. */
  private gelu(s: string, x: string): string {
    const { b } = this;
    const half = b.binary(`${s}/mul`, 'Mul', b.scalar(`${s}/mul/x`, 0.5), x);
    const t = b.binary(`${s}/truediv`, 'Mul', x, b.scalar(`${s}/truediv_recip`, Math.SQRT1_2));
    const e = b.unary(`${s}/Erf`, 'Erf', t);
    const one = b.binary(`${s}/add`, 'AddV2', b.scalar(`${s}/add/x`, 1), e);
    return b.binary(`${s}/mul_1`, 'Mul', half, one);
  }
}
