// Writes a Graph as a TensorFlow SavedModel directory:
//   saved_model.pb   one MetaGraphDef, tag 'serve', signature 'serving_default', every weight a Const
//   variables/       empty: there are no variables, so TensorFlow's loader restores nothing
// TensorFlow runs the whole graph in one session call (tf.node.loadSavedModel, Python
// tf.saved_model.load, TF Serving) instead of tfjs's op-by-op dispatch. A Turbo graph keeps its
// TurboMerge / TurboPropAttnBias nodes; the runtime needs the native op library loaded first.
//
// Like writeGraphModel, everything goes to a temporary sibling directory renamed at the end.

import * as fsp from 'fs/promises';
import * as path from 'path';
import { Graph } from '../graph/ir';
import { outputFailure, writeDirAtomically, writeFileIn } from '../output_dir';
import { FuseOptions } from './fuse';
import { toGraphDef, usesTurboOps } from './graphdef';
import { SAVED_MODEL_KINDS } from './output';
import { TF_PROTO_VERSION, protoType } from './proto';
import { BLOCKS_SIGNATURE, SERVE_TAG, SERVING_SIGNATURE, SignatureDefObject, blockOutputsSignature, servingSignature } from './signature';

export interface SavedModelWriteOptions {
  /** Replace `dir` if it holds a SavedModel or a tfjs graph model (never a file or symlink). */
  overwrite?: boolean;
  /** model.json the graph came from, named in errors. */
  source?: string;
  /**
   * Also write a 'turbo_blocks' signature whose outputs are every transformer block's output
   * (block_0, block_1, ...), so the tokens left after each block can be observed. Turbo models only.
   */
  blockSignature?: boolean;
  /**
   * Rewrite LayerNorm, dense + GELU and q/k/v subgraphs into what TensorFlow runs as fewer, fused
   * kernels (fuse.ts; FuseOptions turns single rewrites off). On by default; false writes the
   * graph's ops as they are (what tfjs runs op by op, kernel for kernel, and what a TensorFlow
   * without oneDNN, which lacks _MklLayerNorm, can load).
   */
  fuse?: boolean | FuseOptions;
}

export interface SavedModelInfo {
  signature: SignatureDefObject;
  /** Whether the graph contains Turbo ops (loading needs the native op library). */
  turboOps: boolean;
  /** The written GraphDef's node names: what a session can fetch (the fuse pass removes some of the graph's). */
  nodes: string[];
  /** Each Placeholder's dtype (DT_...), what a session must be fed. */
  placeholders: Record<string, string>;
  bytes: number;
}

/** The SavedModel protobuf of `graph`, encoded. */
export function encodeSavedModel(graph: Graph, source = 'model.json', blockSignature = false, fuse: boolean | FuseOptions = true): { data: Uint8Array; info: Omit<SavedModelInfo, 'bytes'> } {
  const signature = servingSignature(graph, source);
  const blocks = blockSignature ? { [BLOCKS_SIGNATURE]: blockOutputsSignature(graph, signature, source) } : {};
  const graphDef = toGraphDef(graph, source, fuse === false ? false : fuse === true ? {} : fuse);
  const turboOps = usesTurboOps(graph);
  const nodes = graphDef.node.map((n) => String(n.name));
  const placeholders = Object.fromEntries(
    graphDef.node.filter((n) => n.op === 'Placeholder').map((n) => [String(n.name), String((n.attr as Record<string, { type?: string }>).dtype?.type ?? 'DT_FLOAT')]),
  );
  const SavedModel = protoType('SavedModel');
  const metaGraph = {
    metaInfoDef: {
      tags: [SERVE_TAG],
      tensorflowVersion: TF_PROTO_VERSION,
      // Says who wrote it, as tensorflowjs_converter's generatedBy does in model.json.
      tensorflowGitVersion: 'tfjs-turbo SavedModel writer',
    },
    graphDef,
    signatureDef: { [SERVING_SIGNATURE]: signature, ...blocks },
  };
  const message = SavedModel.fromObject({ savedModelSchemaVersion: 1, metaGraphs: [metaGraph] });
  const problem = SavedModel.verify(message);
  if (problem) throw new Error(`SavedModel message is invalid: ${problem}`);
  return { data: SavedModel.encode(message).finish(), info: { signature, turboOps, nodes, placeholders } };
}

export async function writeSavedModel(graph: Graph, dir: string, opts: SavedModelWriteOptions = {}): Promise<SavedModelInfo> {
  // Encoded before anything touches the disk: a graph TensorFlow cannot hold fails with nothing written.
  const { data, info } = encodeSavedModel(graph, opts.source, opts.blockSignature, opts.fuse ?? true);
  await writeDirAtomically(
    dir,
    !!opts.overwrite,
    async (tmp) => {
      await writeFileIn(dir, path.join(tmp, 'saved_model.pb'), data);
      await fsp.mkdir(path.join(tmp, 'variables')).catch((e) => {
        throw outputFailure(dir, 'create variables/', e);
      });
    },
    SAVED_MODEL_KINDS,
  );
  return { ...info, bytes: data.length };
}
