// Declarative path matching, in the spirit of onnxruntime's match_parent_path: a pattern is data (a
// named list of steps, each a set of op types, which input to follow, optional or repeated, and an
// extra check), walked upward from a node through its inputs. A failed match says which step failed
// and what it found there, so "nothing matched" errors can name the pattern, the step and the node.

import { Graph, dataInputs, parseRef } from './ir';
import { NodeDef } from './types';

export interface Step {
  /** For messages: what this step stands for ("scale", "Q·Kᵀ", ...). */
  label: string;
  ops: ReadonlySet<string> | readonly string[];
  /**
   * Which data input of the matched node leads on (default 0). 'toward': the first data input
   * produced by a node this step or the next one would accept (a scale Mul's non-constant side).
   */
  input?: number | 'toward';
  /** The step may be absent. */
  optional?: boolean;
  /** Zero or more nodes in a row. */
  repeat?: boolean;
  /** Further condition on a node of the right op; returns why it does not fit. */
  where?: (node: NodeDef, graph: Graph) => string | undefined;
}

export interface PathPattern {
  name: string;
  /** Condition on the node the walk starts from; returns why the pattern does not apply. */
  when?: (from: NodeDef, graph: Graph) => string | undefined;
  steps: readonly Step[];
}

export interface PathMatch {
  pattern: string;
  /** The nodes matched, in walk order (nearest first). */
  nodes: NodeDef[];
  /** The tensor the walk reached after the last matched node (or the start input if none matched). */
  end: string;
}

export interface MatchFailure {
  pattern: string;
  step: string;
  reason: string;
}

const has = (ops: Step['ops'], op: string) => (ops instanceof Set ? ops.has(op) : (ops as readonly string[]).includes(op));

function accepts(step: Step, node: NodeDef | undefined, graph: Graph): string | undefined {
  if (!node) return 'no node';
  if (!has(step.ops, node.op)) return `found ${node.op} '${node.name}'`;
  return step.where?.(node, graph);
}

function next(step: Step, following: Step | undefined, node: NodeDef, graph: Graph): string | undefined {
  const inputs = dataInputs(node);
  if (step.input !== 'toward') return inputs[step.input ?? 0];
  return inputs.find((ref) => {
    const op = graph.tryNode(ref)?.op;
    return op !== undefined && (has(step.ops, op) || (following !== undefined && has(following.ops, op)));
  });
}

/** Walks `pattern` up from data input `input` of `from`. */
export function matchParentPath(graph: Graph, from: NodeDef, input: number, pattern: PathPattern): PathMatch | MatchFailure {
  const skip = pattern.when?.(from, graph);
  if (skip) return { pattern: pattern.name, step: 'start', reason: skip };
  return matchTensorPath(graph, dataInputs(from)[input], pattern);
}

/** Walks the steps of `pattern` up from the tensor `start` (its `when` is not consulted: there is no start node). */
export function matchTensorPath(graph: Graph, start: string | undefined, pattern: PathPattern): PathMatch | MatchFailure {
  let ref: string | undefined = start;
  const nodes: NodeDef[] = [];
  for (const [i, step] of pattern.steps.entries()) {
    const following = pattern.steps[i + 1];
    if (step.repeat) {
      for (let node = ref === undefined ? undefined : graph.tryNode(ref); node && accepts(step, node, graph) === undefined; node = ref === undefined ? undefined : graph.tryNode(ref)) {
        nodes.push(node);
        ref = next(step, following, node, graph);
      }
      continue;
    }
    const node = ref === undefined ? undefined : graph.tryNode(ref);
    const why = accepts(step, node, graph);
    if (why !== undefined) {
      if (step.optional) continue;
      return { pattern: pattern.name, step: step.label, reason: why };
    }
    nodes.push(node!);
    ref = next(step, following, node!, graph);
  }
  return { pattern: pattern.name, nodes, end: ref ?? '' };
}

/** Consumers that only read a tensor's shape (Tensordot-style dense layers branch off to them): not on a data path. */
const SHAPE_READERS: ReadonlySet<string> = new Set(['Shape', 'ShapeN', 'Size', 'Rank']);

/**
 * Walks `pattern` down from `from`: each step takes the one data consumer of the node before it
 * (shape readers aside). `input` has no meaning downward; `end` is the last node matched.
 */
export function matchChildPath(graph: Graph, from: NodeDef, pattern: PathPattern): PathMatch | MatchFailure {
  const skip = pattern.when?.(from, graph);
  if (skip) return { pattern: pattern.name, step: 'start', reason: skip };
  const only = (n: NodeDef): NodeDef | string => {
    const next = graph.consumerNodes(n.name).filter((c) => !SHAPE_READERS.has(c.op));
    return next.length === 1 ? next[0] : `'${n.name}' has ${next.length} consumers`;
  };
  let cur = from;
  const nodes: NodeDef[] = [];
  for (const step of pattern.steps) {
    for (let first = true; first || step.repeat; first = false) {
      const next = only(cur);
      const why = typeof next === 'string' ? next : accepts(step, next, graph);
      if (why !== undefined) {
        if (step.repeat || step.optional) break;
        return { pattern: pattern.name, step: step.label, reason: why };
      }
      nodes.push(next as NodeDef);
      cur = next as NodeDef;
    }
  }
  return { pattern: pattern.name, nodes, end: cur.name };
}

export function isFailure(m: PathMatch | MatchFailure): m is MatchFailure {
  return (m as MatchFailure).reason !== undefined;
}

/** The first of `patterns` (named variants of one thing) that matches, or every variant's failure. */
export function matchVariants(graph: Graph, from: NodeDef, input: number, patterns: readonly PathPattern[]): PathMatch | MatchFailure[] {
  const failures: MatchFailure[] = [];
  for (const p of patterns) {
    const m = matchParentPath(graph, from, input, p);
    if (!isFailure(m)) return m;
    failures.push(m);
  }
  return failures;
}

/** "variant a: at step s, found X 'n'; variant b: ..." for error messages. */
export function describeFailures(failures: readonly MatchFailure[]): string {
  return failures.map((f) => `${f.pattern}: at ${f.step}, ${f.reason}`).join('; ');
}

