// Whether a loaded graph must run through executeAsync. tfjs's synchronous executor refuses
// control flow (the tf.cond transformers' causal masks leave in BLIP's decoders), dynamic-shape
// ops and hash tables, and says so only by throwing; its own lists are not exported. The loaders
// record the answer from the graph's ops, so callers pick the executor without trying one and
// reading the error text.
import type * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';

/** tfjs-converter 4.x's CONTROL_FLOW_OPS, DYNAMIC_SHAPE_OPS and HASH_TABLE_OPS (graph_executor / model_analysis). */
const ASYNC_OPS: ReadonlySet<string> = new Set([
  'Switch', 'Merge', 'Enter', 'Exit', 'NextIteration', 'StatelessIf', 'StatelessWhile', 'if', 'While',
  'NonMaxSuppressionV2', 'NonMaxSuppressionV3', 'NonMaxSuppressionV5', 'Where',
  'HashTable', 'HashTableV2', 'LookupTableImport', 'LookupTableImportV2', 'LookupTableFind', 'LookupTableFindV2', 'LookupTableSize', 'LookupTableSizeV2',
]);

const asyncModels = new WeakMap<GraphModel, boolean>();

/** Whether a graph with these node ops needs executeAsync. */
export function opsNeedAsync(ops: Iterable<string>): boolean {
  for (const op of ops) if (ASYNC_OPS.has(op)) return true;
  return false;
}

/** Records what a loader learnt about `model` from its graph. */
export function noteExecution<M extends GraphModel>(model: M, needsAsync: boolean): M {
  asyncModels.set(model, needsAsync);
  return model;
}

/** The node ops of a model.json topology (tfjs artifacts), for opsNeedAsync. */
export function topologyOps(topology: unknown): string[] {
  const nodes = (topology as { node?: { op?: unknown }[] } | undefined)?.node;
  return Array.isArray(nodes) ? nodes.map((n) => String(n?.op)) : [];
}

/**
 * Whether `model` must run through executeAsync: as recorded by our loaders, and true for a model
 * loaded elsewhere (executeAsync runs every graph; execute does not).
 */
export function needsExecuteAsync(model: GraphModel): boolean {
  return asyncModels.get(model) ?? true;
}

/** Runs `model` on named inputs with the executor its graph allows: execute when it can, executeAsync when it must. */
export async function executeGraph(model: GraphModel, inputs: tf.NamedTensorMap, outputs?: string | string[]): Promise<tf.Tensor | tf.Tensor[]> {
  return needsExecuteAsync(model) ? model.executeAsync(inputs, outputs) : model.execute(inputs, outputs);
}
