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
// One file per fusion (fuse_layer_norm.ts, fuse_gelu.ts, fuse_qkv.ts), each matched with
// PathPatterns (src/graph/match.ts) over the Graph IR, like the Turbo pass: collect the matches,
// apply them, then drop the constants only the fused subgraphs read. Only subgraphs whose
// intermediate values have no other reader are rewritten; everything else passes through. The
// fused node takes the name of the subgraph's last node, and its place in the node list, so
// consumers stay wired.

import { Graph } from '../graph/ir';
import { NodeDef } from '../graph/types';
import { geluFusion } from './fuse_gelu';
import { layerNormFusion } from './fuse_layer_norm';
import { AnchoredFusion, FusionCount } from './fuse_match';
import { fuseQkv } from './fuse_qkv';
import { rankFinder } from './rank';

export interface FuseOptions {
  /** Query/key/value projections of one attention layer -> one MatMul, one Transpose, a Split (default true). */
  qkv?: boolean;
  /** LayerNorm subgraphs -> _MklLayerNorm (default true). */
  layerNorm?: boolean;
  /** dense + exact-GELU subgraphs -> the form grappler fuses into _FusedMatMul (default true). */
  gelu?: boolean;
}

/** What the fusions rewrote ("LayerNorm: 25"), and why candidates that came close were left alone. */
export interface FuseReport {
  layerNorms: number;
  gelus: number;
  qkv: number;
  missed: string[];
}

/**
 * Rewrites `graph` in place (toGraphDef runs it on its own copy). The q/k/v fusion runs first,
 * then LayerNorm and GELU are collected in one walk in node order and applied.
 */
export function fuseForTensorFlow(graph: Graph, opts: FuseOptions = {}): FuseReport {
  const constsRead = new Set(graph.nodes.filter((n) => n.op === 'Const' && graph.readCount(n.name) > 0).map((n) => n.name));
  const qkv = opts.qkv === false ? NONE : fuseQkv(graph);
  const enabled = [...(opts.layerNorm === false ? [] : [layerNormFusion]), ...(opts.gelu === false ? [] : [geluFusion])] as AnchoredFusion<Match>[];
  const counts = fuseAnchored(graph, enabled);
  const layerNorms = counts.get(layerNormFusion.name) ?? NONE;
  const gelus = counts.get(geluFusion.name) ?? NONE;
  dropOrphanedConsts(graph, constsRead);
  return { layerNorms: layerNorms.fused, gelus: gelus.fused, qkv: qkv.fused, missed: [...qkv.missed, ...layerNorms.missed, ...gelus.missed] };
}

const NONE: FusionCount = { fused: 0, missed: [] };

type Match = { nodes: readonly NodeDef[] };

/**
 * One walk in node order over the anchors of `fusions`, then every match applied. A node claimed
 * by a match is not looked at again, and the rank of a tensor read through one counts as unknown
 * (rank.ts): how the pass has always decided which LayerNorms are over the last axis, so what it
 * writes stays the same.
 */
function fuseAnchored(graph: Graph, fusions: readonly AnchoredFusion<Match>[]): Map<string, FusionCount> {
  const claimed = new Set<string>();
  const rank = rankFinder(graph, claimed);
  const found = fusions.map(() => ({ matches: [] as Match[], missed: [] as string[] }));
  for (const node of graph.nodes) {
    if (claimed.has(node.name)) continue;
    const i = fusions.findIndex((f) => f.anchor === node.op);
    if (i < 0) continue;
    const m = fusions[i].match(graph, node, rank);
    if (typeof m === 'string') found[i].missed.push(`${fusions[i].name} at ${node.name}: ${m}`);
    else if (m) {
      for (const n of m.nodes) claimed.add(n.name);
      found[i].matches.push(m);
    }
  }
  fusions.forEach((f, i) => found[i].matches.forEach((m) => f.apply(graph, m)));
  return new Map(fusions.map((f, i) => [f.name, { fused: found[i].matches.length, missed: found[i].missed }]));
}

/**
 * Constants that were read before the fusions and are read by nothing now (the separate q/k/v
 * weights once the concatenated one replaces them, a LayerNorm's axes), so no weight is stored
 * twice. A constant nothing read to begin with stays, as the graph had it.
 */
function dropOrphanedConsts(graph: Graph, constsRead: ReadonlySet<string>): void {
  for (const name of constsRead) if (graph.has(name) && graph.readCount(name) === 0) graph.removeNode(name);
}
