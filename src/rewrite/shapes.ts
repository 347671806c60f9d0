// Static token counts -> dynamic. Converter graphs bake N into Reshape targets such as
// [-1, N, C] or [-1, N, H, d]; after a merge N shrinks, so those targets become
// [batch, -1, ...] with batch read from the graph input at run time (batch never changes inside
// the network, so one Shape of the input serves every Reshape).
// tensorflowjs_converter output of HF BLIP builds the target at run time instead,
// Pack(batch, N, 3, heads, d), with N a scalar Const: that entry becomes -1.
// And a signature output [-1, N, C] (BLIP's last_hidden_state) gets -1 for N.

import { Graph, dataInputs, parseRef } from '../graph/ir';
import { AttentionBlock } from './blocks';
import { TfBuilder } from '../graph/tf_builder';
import { NodeDef } from '../graph/types';
import { isConst, knownScalar } from './consts';

const PREFIX = 'turbo/shapes';

export interface DynamicShapesReport {
  /** Reshape nodes whose target now comes from the run-time batch size. */
  reshapes: string[];
}

/**
 * The nodes downstream of the tokens entering the first block: the only ones whose token count a
 * merge can change. A Reshape elsewhere that happens to hold N (another input's branch) keeps it.
 */
export function tokenPath(graph: Graph, blocks: readonly AttentionBlock[]): Set<string> {
  return blocks.length ? graph.descendants(parseRef(blocks[0].blockInputRef).node) : new Set();
}

/**
 * `within`: the token path (tokenPath). A target with a second -1 ([-1, N, -1]) is left static:
 * [batch, -1, -1] is not a shape, so the rewrite's validation reports it instead.
 */
export function makeTokenCountDynamic(graph: Graph, tokenCount: number, inputRef: string, within: ReadonlySet<string>): DynamicShapesReport {
  const targets = new Map<string, string>();
  const reshapes: string[] = [];
  let batch: string | undefined;
  for (const node of [...graph.nodes]) {
    if (node.op !== 'Reshape' || !within.has(node.name)) continue;
    const shapeRef = dataInputs(node)[1];
    const shape = graph.constValues(shapeRef);
    if (!shape || shape.length < 3 || shape[0] !== -1 || shape[1] !== tokenCount) continue;
    if (shape.slice(2).includes(-1)) continue;
    batch ??= batchSizeVector(graph, inputRef);
    // Converters write one shape Const per Reshape; equal targets share one dynamic vector, so
    // the graph gains a few ConcatV2 nodes rather than one per Reshape.
    const rest = Array.from(shape.slice(2));
    const key = rest.join(',');
    let target = targets.get(key);
    if (!target) {
      target = dynamicTarget(graph, batch, shapeRef, rest);
      targets.set(key, target);
    }
    graph.setInput(node, node.input!.indexOf(shapeRef), target);
    reshapes.push(node.name);
  }
  return { reshapes };
}

/** Every Reshape on the token path whose target still holds the static token count in the token position. */
export function staticTokenReshapes(graph: Graph, tokenCount: number, within: ReadonlySet<string>): string[] {
  return graph.nodes
    .filter((n) => n.op === 'Reshape' && within.has(n.name))
    .filter((n) => {
      const s = graph.constValues(dataInputs(n)[1]);
      return !!s && s.length >= 3 && s[1] === tokenCount;
    })
    .map((n) => n.name);
}

/** A Pack building a Reshape target whose token entry (index 1, after the batch) is a constant. */
interface PackedTokenAxis {
  pack: NodeDef;
  /** The constant's value; undefined when the topology has no shards. */
  value: number | undefined;
  /** Another entry is already -1, so the token entry cannot become -1 too. */
  blocked: boolean;
}

/**
 * Reshape targets Pack(batch, N, ...) inside the blocks (`region`) whose token entry is a
 * constant equal to the static token count, or whose value is unknown (topology without shards:
 * HF graphs put either -1 or N there, and -1 is right for both).
 */
export function packedTokenAxes(graph: Graph, region: ReadonlySet<string>, tokenCount: number): PackedTokenAxis[] {
  const found = new Map<string, PackedTokenAxis>();
  for (const node of graph.nodes) {
    if (node.op !== 'Reshape' || !region.has(node.name)) continue;
    const pack = graph.tryNode(dataInputs(node)[1]);
    if (!pack || pack.op !== 'Pack' || found.has(pack.name)) continue;
    const entries = dataInputs(pack);
    // [batch (computed), N (constant), ...rest]: the batch-first layout of a token tensor.
    if (entries.length < 3 || isConst(graph, entries[0]) || !isConst(graph, entries[1])) continue;
    const value = knownScalar(graph, entries[1]);
    if (value !== undefined && value !== tokenCount) continue;
    const blocked = entries.slice(2).some((e) => knownScalar(graph, e) === -1);
    found.set(pack.name, { pack, value, blocked });
  }
  return [...found.values()];
}

export function makePackedTokenAxesDynamic(graph: Graph, region: ReadonlySet<string>, tokenCount: number): string[] {
  const targets = packedTokenAxes(graph, region, tokenCount).filter((t) => !t.blocked);
  if (targets.length === 0) return [];
  const minusOne = graph.addConst(graph.uniqueName(`${PREFIX}/dynamic_tokens`), 'int32', [], [-1]);
  for (const { pack } of targets) graph.setInput(pack, 1, minusOne.name);
  return targets.map((t) => t.pack.name);
}

/** Signature outputs [?, N, ...] (token sequences) whose N is the static token count. */
export function staticSignatureOutputs(graph: Graph, tokenCount: number): string[] {
  const outs = graph.modelJson.signature?.outputs ?? {};
  return Object.entries(outs)
    .filter(([, o]) => {
      const dims = o.tensorShape?.dim;
      return !!dims && dims.length >= 3 && Number(dims[1].size) === tokenCount;
    })
    .map(([key]) => key);
}

/** Those outputs now have a dynamic token axis (the merges shorten the sequence). */
export function makeSignatureTokensDynamic(graph: Graph, tokenCount: number): string[] {
  const keys = staticSignatureOutputs(graph, tokenCount);
  const outs = graph.modelJson.signature?.outputs ?? {};
  for (const key of keys) outs[key].tensorShape!.dim![1] = { size: '-1' };
  return keys;
}

function batchSizeVector(graph: Graph, inputRef: string): string {
  const tf = new TfBuilder(graph);
  const shape = tf.shape(graph.uniqueName(`${PREFIX}/input_shape`), inputRef);
  const begin = tf.i32(graph.uniqueName(`${PREFIX}/batch_begin`), [1], [0]);
  const end = tf.i32(graph.uniqueName(`${PREFIX}/batch_end`), [1], [1]);
  const strides = tf.i32(graph.uniqueName(`${PREFIX}/batch_strides`), [1], [1]);
  return tf.stridedSliceOf(graph.uniqueName(`${PREFIX}/batch_size`), shape, [begin, end, strides], {}, 'int32');
}

function dynamicTarget(graph: Graph, batch: string, shapeRef: string, rest: number[]): string {
  const tf = new TfBuilder(graph);
  const base = `${PREFIX}/${shapeRef.replace(/[:^]/g, '_')}`;
  const tail = tf.i32(graph.uniqueName(`${base}/tail`), [rest.length + 1], [-1, ...rest]);
  const axis = tf.i32(graph.uniqueName(`${base}/axis`), [], [0]);
  return tf.concatOf(graph.uniqueName(`${base}/dynamic`), [batch, tail], axis, 'int32');
}
