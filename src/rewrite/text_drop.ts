// BLIP's text-side Turbo (docs/ALGORITHM.md, "BLIP's text side"): after cross-attention layer i a
// TurboDropTokens node keeps the most-attended image tokens, and layer i + 1 projects its keys and
// values from those, with the matching mask entries. Nodes of the K/V projections that the
// converter shares between layers (grappler merges identical Reshapes of the image tokens) are
// cloned for each later layer, so every layer reads its own token set. Like the vision rewrite it
// is journaled under userDefinedMetadata.turbo, so --strip restores the original graph exactly.

import { GraphError, OptionsError } from '../errors';
import { Graph, boolAttr, dataInputs, floatAttr, formatRef, intAttr, parseRef } from '../graph/ir';
import { NodeDef } from '../graph/types';
import { DROP_GRAPH_ATTRS, TurboDropTokens, TurboDropTokensAttrs } from '../ops/kernel_names';
import { DEFAULT_DROP_ATTRS } from '../ops/drop_tokens';
import { CrossAttention, findCrossAttention } from './cross_attention';
import { definedFields } from '../turbo/options';
import { isTurboModel } from './strip';
import { TOOL_VERSION, TurboUndo } from './pass';

export type TextDropOptions = Omit<TurboDropTokensAttrs, 'layer'>;

export interface TextDropSummary {
  crossAttentionLayers: number;
  /** Names of the TurboDropTokens nodes, layer order (output 2 of each: kept indices). */
  dropNodes: string[];
}

/** Where earlier versions kept the settings, without an undo record; still recognised, never written. */
const LEGACY_TEXT_DROP_METADATA = 'turbo_text_drop';

export function isTextDropModel(graph: Graph): boolean {
  const meta = graph.modelJson.userDefinedMetadata;
  const turbo = meta?.turbo as { textDrop?: unknown } | undefined;
  return turbo?.textDrop !== undefined || meta?.[LEGACY_TEXT_DROP_METADATA] !== undefined || graph.nodes.some((n) => n.op === TurboDropTokens);
}

export function applyTextDrop(graph: Graph, partial: Partial<TextDropOptions> = {}, source = 'model.json'): TextDropSummary {
  const options: TextDropOptions = { ...DEFAULT_DROP_ATTRS, ...definedFields(partial) };
  if (!(options.dropRate >= 0 && options.dropRate <= 1)) throw new OptionsError('dropRate', `must be in [0, 1], got ${options.dropRate}`);
  if (!(options.dropMax >= 0 && options.dropMax <= 1)) throw new OptionsError('dropMax', `must be in [0, 1], got ${options.dropMax}`);
  if (isTextDropModel(graph)) throw new GraphError(source, 'already has text-side token dropping');
  // One undo record per graph: a graph Turbo already rewrote could not be stripped back through both.
  if (isTurboModel(graph)) throw new GraphError(source, 'is already a Turbo model; apply text-side dropping to the original graph');
  const report = findCrossAttention(graph);
  const layers = report.layers;
  if (layers.length === 0) {
    const why = report.rejected.length ? `; ${report.rejected.slice(0, 3).join('; ')}` : '';
    throw new GraphError(source, `no cross-attention to image tokens found (${report.selfAttention} self-attention layers)${why}`);
  }
  const tokens = layers[0].tokensRef;
  const other = layers.find((l) => l.tokensRef !== tokens);
  if (other) throw new GraphError(source, `cross-attention layers read different token tensors (${tokens}, ${other.tokensRef})`);

  const shared = sharedProjectionNodes(layers);
  const signature = graph.modelJson.signature === undefined ? null : JSON.parse(JSON.stringify(graph.modelJson.signature));
  const hadMetadata = graph.modelJson.userDefinedMetadata !== undefined;
  graph.startJournal();
  const dropNodes: string[] = [];
  let tokensRef = tokens;
  let maskRef = layers[0].maskAdd.ref;
  for (let i = 0; i + 1 < layers.length; i++) {
    const name = graph.uniqueName(`${layers[i].softmax.name}/turbo_drop`);
    graph.addNode({ name, op: TurboDropTokens, input: [formatRef(layers[i].softmax.name), tokensRef, maskRef, tokens], attr: dropAttrs({ ...options, layer: i }) });
    dropNodes.push(name);
    tokensRef = formatRef(name, 0);
    maskRef = formatRef(name, 1);
    readTokensFrom(graph, layers[i + 1], tokens, tokensRef, shared);
    graph.setInput(layers[i + 1].maskAdd.node, layers[i + 1].maskAdd.input, maskRef);
  }
  const journal = graph.finishJournal();
  graph.modelJson.userDefinedMetadata = {
    ...(graph.modelJson.userDefinedMetadata ?? {}),
    turbo: {
      tool: 'tfjs-turbo',
      version: TOOL_VERSION,
      textDrop: { dropRate: options.dropRate, dropMax: options.dropMax, firstTokenOnly: options.firstTokenOnly, layers: layers.length },
      undo: { ...journal, signature, hadMetadata } satisfies TurboUndo,
    },
  };
  return { crossAttentionLayers: layers.length, dropNodes };
}

function dropAttrs(a: TurboDropTokensAttrs): NodeDef['attr'] {
  const attr: NonNullable<NodeDef['attr']> = {};
  for (const { key, name, kind } of DROP_GRAPH_ATTRS) {
    const v = a[key];
    attr[name] = kind === 'int' ? intAttr(v as number) : kind === 'float' ? floatAttr(v as number) : boolAttr(v as boolean);
  }
  return attr;
}

/** Projection nodes used by more than one layer. */
function sharedProjectionNodes(layers: CrossAttention[]): Set<string> {
  const count = new Map<string, number>();
  for (const l of layers) for (const n of l.projection) count.set(n, (count.get(n) ?? 0) + 1);
  return new Set([...count].filter(([, c]) => c > 1).map(([n]) => n));
}

/**
 * Makes `layer`'s K/V projections read `newTokens` instead of `tokens`: its own projection nodes are
 * re-pointed; shared ones are cloned for it first (inputs remapped the same way). Side inputs that
 * read the tokens (the Shape a Tensordot reshapes back with) follow, so shapes come from the kept tokens.
 */
function readTokensFrom(graph: Graph, layer: CrossAttention, tokens: string, newTokens: string, shared: Set<string>): void {
  const clones = new Map<string, string>();
  const region = projectionRegion(graph, layer, tokens);
  const remap = (ref: string): string => {
    if (ref === tokens || ref === parseRef(tokens).node) return newTokens;
    const { node, output } = parseRef(ref);
    const c = clones.get(node);
    return c === undefined ? ref : formatRef(c, output);
  };
  for (const node of graph.topoOrder().filter((n) => region.has(n.name))) {
    if (shared.has(node.name) || isSharedSide(graph, node, layer, region)) {
      const name = graph.uniqueName(`${node.name}/turbo_layer${layer.index}`);
      graph.addNode({ ...node, name, input: (node.input ?? []).map((r) => (r.startsWith('^') ? r : remap(r))), attr: { ...node.attr } });
      clones.set(node.name, name);
    }
  }
  for (const node of graph.topoOrder().filter((n) => region.has(n.name) && !clones.has(n.name))) {
    const inputs = node.input ?? [];
    inputs.forEach((r, i) => {
      if (r.startsWith('^')) return;
      const to = remap(r);
      if (to !== r) graph.setInput(node, i, to);
    });
  }
  // The layer's own consumers of cloned nodes (Q·Kᵀ and P·V read the head-split K and V).
  for (const user of [layer.qk, layer.pv]) {
    dataInputs(user).forEach((r, i) => {
      const to = remap(r);
      if (to !== r) graph.setInput(user, i, to);
    });
  }
}

/** The layer's projection nodes plus the side nodes between them and the tokens (Shape, StridedSlice, Pack, ConcatV2...). */
function projectionRegion(graph: Graph, layer: CrossAttention, tokens: string): Set<string> {
  const tokenNode = parseRef(tokens).node;
  const readers = graph.descendants(tokenNode);
  const region = new Set<string>();
  const stack = [...layer.projection];
  while (stack.length) {
    const name = stack.pop()!;
    if (region.has(name) || !readers.has(name)) continue;
    region.add(name);
    for (const r of dataInputs(graph.node(name))) stack.push(parseRef(r).node);
  }
  return region;
}

/** A side node (not in the projection itself) that other parts of the graph also read. */
function isSharedSide(graph: Graph, node: NodeDef, layer: CrossAttention, region: Set<string>): boolean {
  if (layer.projection.has(node.name)) return false;
  return graph.consumerNodes(node.name).some((c) => !region.has(c.name));
}
