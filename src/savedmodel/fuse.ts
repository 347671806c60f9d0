// Rewrites for the SavedModel writer that let TensorFlow run a ViT with fewer, fused kernels.
//
// A tfjs graph model spells LayerNorm and exact GELU out in elementwise ops (tf.nn.moments +
// batch_normalization: Mean, SquaredDifference, Mean, AddV2, Rsqrt, Mul x3, Sub, AddV2; GELU:
// Mul, Mul, Erf, AddV2, Mul), and tfjs puts a Reshape between each dense layer's MatMul and its
// activation. Run in one TensorFlow session that costs a kernel launch and a pass over memory per
// op, which at ViT-Tiny batch 1 (197 x 192 activations) is a measurable share of the run.
// TensorFlow 2.12's grappler fuses neither as tfjs writes them (checked in the optimized
// partition graph), so this pass rewrites them:
//  - LayerNorm over the last axis -> one `_MklLayerNorm(x, gamma, beta)`. The op is oneDNN's
//    layer normalization; its CPU kernel is registered in every x86-64 TensorFlow build with
//    oneDNN (tfjs-node's libtensorflow 2.12, the tensorflow / tensorflow-cpu wheels) and runs
//    whether or not TF_ENABLE_ONEDNN_OPTS rewrites are on. It is the op grappler's remapper itself
//    emits for Keras LayerNormalization (whose FusedBatchNormV3 form tfjs graphs do not have).
//  - dense + exact GELU -> MatMul, BiasAdd, then GELU in exactly the form grappler's remapper
//    matches (`x * ((erf(x * 1/sqrt(2)) + 1) * 0.5)` on the 2-D BiasAdd output), then the
//    Reshape. With oneDNN on (TensorFlow's default on x86) the remapper turns the whole chain into
//    one `_FusedMatMul[BiasAdd, GeluExact]`; with it off the ops run as before. This order of
//    multiplications differs from tfjs's `(0.5 * x) * (1 + erf(x / sqrt(2)))` only by exact
//    power-of-two scalings, so unfused the values are bit-identical.
//  - the query, key and value projections of an attention layer -> one MatMul over the
//    concatenated weights and one Transpose (fuse_qkv.ts).
// One file per fusion (fuse_layer_norm.ts, fuse_gelu.ts, fuse_qkv.ts) over the shared node view (fuse_view.ts).
// Only subgraphs whose intermediate values have no other consumer are rewritten; everything else
// passes through. The fused node takes the name of the subgraph's last node, so consumers stay wired.

import { NodeDef } from '../graph/types';
import { fuseGelu } from './fuse_gelu';
import { fuseLayerNorm } from './fuse_layer_norm';
import { fuseQkv } from './fuse_qkv';
import { ConstLookup, View } from './fuse_view';

export type { ConstLookup } from './fuse_view';

export interface FuseOptions {
  /** Query/key/value projections of one attention layer -> one MatMul, one Transpose, a Split (default true). */
  qkv?: boolean;
  /** LayerNorm subgraphs -> _MklLayerNorm (default true). */
  layerNorm?: boolean;
  /** dense + exact-GELU subgraphs -> the form grappler fuses into _FusedMatMul (default true). */
  gelu?: boolean;
}

export interface FuseResult {
  nodes: NodeDef[];
  layerNorms: number;
  gelus: number;
  qkv: number;
}

export function fuseForTensorFlow(nodes: readonly NodeDef[], constValue: ConstLookup, opts: FuseOptions = {}): FuseResult {
  const g = new View(nodes, constValue);
  let layerNorms = 0;
  let gelus = 0;
  const qkv = opts.qkv === false ? 0 : fuseQkv(g, nodes);
  for (const node of nodes) {
    if (!g.isLive(node)) continue;
    if (opts.layerNorm !== false && node.op === 'AddV2' && fuseLayerNorm(g, node)) layerNorms++;
    else if (opts.gelu !== false && node.op === 'Mul' && fuseGelu(g, node)) gelus++;
  }
  return { nodes: g.result(), layerNorms, gelus, qkv };
}
