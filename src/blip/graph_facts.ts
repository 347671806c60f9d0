// What a BLIP graph model fixes that config.json states as well, read from the graph itself:
// the signature's pixel size and logits width, and the rows of the embedding tables the text
// graphs gather from (ids past them, or positions past them, fail deep inside tfjs).
import { Graph, dataInputs, parseRef } from '../graph/ir';
import type { NodeDef } from '../graph/types';
import { BlipGraphFacts, positive, signatureFacts } from './model';

const GATHER_OPS = new Set(['GatherV2', 'Gather', 'ResourceGather']);

export function graphFacts(graph: Graph): BlipGraphFacts {
  const fromSignature = signatureFacts(graph.modelJson.signature);
  return {
    imageSize: fromSignature.imageSize,
    vocabSize: tableRows(graph, (g) => graph.inputNode(g, 1)?.name === 'input_ids') ?? fromSignature.vocabSize,
    // transformers' TF BERT names the position table's lookup; nothing else in the graph tells it
    // apart from the token-type table.
    positions: tableRows(graph, (g) => g.name.includes('position_embeddings')),
  };
}

/** Rows of the constant table the first matching gather reads. */
function tableRows(graph: Graph, matches: (gather: NodeDef) => boolean): number | undefined {
  for (const node of graph.nodes) {
    if (!GATHER_OPS.has(node.op) || !matches(node)) continue;
    const table = dataInputs(node)[0];
    const shape = table === undefined ? undefined : graph.weights.get(parseRef(table).node)?.spec.shape;
    if (shape?.length === 2) return positive(shape[0]);
  }
  return undefined;
}
