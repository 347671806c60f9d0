// Turbo models recognised as such, and the inverse rewrite (tomesd's remove_patch): the converter
// records in userDefinedMetadata.turbo.undo every node it added and every original input it
// re-pointed, so the original graph comes back exactly, node for node, weight for weight.

import { GraphError } from '../errors';
import { Graph } from '../graph/ir';
import { isEditJournal, originalOrder } from '../graph/journal';
import { TURBO_OPS } from '../ops/op_sets';
import type { TurboUndo } from './pass';

export interface TurboMarks {
  /** userDefinedMetadata.turbo, if present. */
  metadata: Record<string, unknown> | undefined;
  /** Nodes running Turbo ops. */
  turboNodes: number;
}

export function turboMarks(graph: Graph): TurboMarks {
  const meta = graph.modelJson.userDefinedMetadata?.turbo;
  const metadata = meta && typeof meta === 'object' && !Array.isArray(meta) ? (meta as Record<string, unknown>) : undefined;
  return { metadata, turboNodes: graph.nodes.filter((n) => TURBO_OPS.has(n.op)).length };
}

export function isTurboModel(graph: Graph): boolean {
  const m = turboMarks(graph);
  return m.metadata !== undefined || m.turboNodes > 0;
}

/** "r=16, alpha=5" from the metadata, or a description of what gave the model away. */
export function describeTurbo(graph: Graph): string {
  const { metadata, turboNodes } = turboMarks(graph);
  if (!metadata) return `${turboNodes} Turbo op node(s), no settings recorded`;
  const show = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v));
  const drop = metadata.textDrop as Record<string, unknown> | undefined;
  if (drop && typeof drop === 'object') return `text-side drop_rate=${show(drop.dropRate)}, drop_max=${show(drop.dropMax)}`;
  return `r=${show(metadata.r)}, alpha=${show(metadata.alpha)}`;
}

/** Restores the graph convert-with-turbo was given. Errors name `source`. */
export function stripTurbo(graph: Graph, source: string): void {
  if (!isTurboModel(graph)) throw new GraphError(source, 'is not a Turbo model: nothing to strip');
  const undo = undoRecord(graph, source);
  // Pruned original nodes first: their inputs may be among the re-pointed ones.
  for (const { node, weight } of undo.removed ?? []) {
    const clash = graph.has(node.name) || (weight && (weight.spec.name !== node.name || graph.weights.has(weight.spec.name)));
    if (clash) throw new GraphError(source, `the Turbo undo record restores node '${node.name}', which the graph already has (edited after conversion?)`);
  }
  graph.restoreRemoved(undo.removed ?? []);
  for (const [name, index, ref] of undo.rewired) {
    const node = graph.tryNode(name);
    if (!node || !node.input || index >= node.input.length) {
      throw new GraphError(source, `the Turbo undo record names input ${index} of node '${name}', which the graph lacks (edited after conversion?)`);
    }
    graph.setInput(node, index, ref);
  }
  const added = new Set(undo.added);
  for (const name of [...undo.added].reverse()) {
    if (!graph.has(name)) throw new GraphError(source, `the Turbo undo record names node '${name}', which the graph lacks (edited after conversion?)`);
    graph.removeNode(name);
  }
  const stillTurbo = graph.nodes.find((n) => TURBO_OPS.has(n.op) && !added.has(n.name));
  if (stillTurbo) throw new GraphError(source, `node '${stillTurbo.name}' runs ${stillTurbo.op} but the undo record does not list it`);
  const dangling = graph.danglingInputs();
  if (dangling.length) throw new GraphError(source, `stripping would leave node inputs unresolved (${dangling[0]}); the model was edited after conversion`);

  const json = graph.modelJson;
  if (undo.signature === null) delete json.signature;
  else json.signature = undo.signature as typeof json.signature;
  const meta = { ...(json.userDefinedMetadata ?? {}) };
  delete meta.turbo;
  if (undo.hadMetadata) json.userDefinedMetadata = meta;
  else delete json.userDefinedMetadata;
  restoreNodeOrder(graph, undo, source);
}

/** The original file's node order where the record has it; a topological sort for older records. */
function restoreNodeOrder(graph: Graph, undo: TurboUndo, source: string): void {
  if (!undo.moved) return graph.topoSort();
  const order = originalOrder(graph.nodeNames(), undo.moved);
  if (!order || !graph.reorder(order)) throw new GraphError(source, 'the Turbo undo record does not match the graph\'s nodes (edited after conversion?)');
}

function undoRecord(graph: Graph, source: string): TurboUndo {
  const undo: unknown = turboMarks(graph).metadata?.undo;
  const ok = isEditJournal(undo) && typeof (undo as Partial<TurboUndo>).hadMetadata === 'boolean' && 'signature' in undo;
  if (!ok) {
    throw new GraphError(source, 'has no usable Turbo undo record (converted by an older tfjs-turbo, or edited); convert the original model instead');
  }
  return undo as TurboUndo;
}
