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
   * 'any': each data input in turn, first to last, for the rest of the walk (the operands of a
   * commutative op such as Mul or AddV2 come in either order); the first that completes it wins.
   */
  input?: number | 'toward' | 'any';
  /**
   * A data input of the matched node that must be a Const of known value: `input` 'other' is the
   * one the walk does not follow (binary ops), so it is checked for each input 'any' tries. With
   * `equals`, its values must equal these (within `tolerance`); without, it must hold one value.
   */
  constInput?: { input: number | 'other'; equals?: readonly number[]; tolerance?: number };
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
  /**
   * Condition on the whole walk (what one step cannot see: two matched nodes reading the same
   * tensor, the inputs the walk did not follow); returns why it does not fit. A failure sends an
   * 'any' step on to its next input.
   */
  check?: (m: PathMatch, graph: Graph) => string | undefined;
}

export interface PathMatch {
  pattern: string;
  /** The nodes matched, in walk order (nearest first). */
  nodes: NodeDef[];
  /** For each matched node, the data input the walk left it by (-1: none). */
  via: number[];
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

/** The data inputs the walk may leave `node` by, in the order to try them. */
function exits(step: Step, following: Step | undefined, node: NodeDef, graph: Graph): number[] {
  const inputs = dataInputs(node);
  if (step.input === 'any') return inputs.map((_, i) => i);
  if (step.input !== 'toward') return [step.input ?? 0];
  return [
    inputs.findIndex((ref) => {
      const op = graph.tryNode(ref)?.op;
      return op !== undefined && (has(step.ops, op) || (following !== undefined && has(following.ops, op)));
    }),
  ];
}

/** Why the Const input `step` asks for is missing or holds other values, leaving `node` by input `via`. */
function constMismatch(step: Step, node: NodeDef, via: number, graph: Graph): string | undefined {
  const want = step.constInput;
  if (!want) return undefined;
  const inputs = dataInputs(node);
  const ref = want.input === 'other' ? (inputs.length === 2 ? inputs[1 - via] : undefined) : inputs[want.input];
  const values = ref === undefined ? undefined : smallConstValues(graph, ref);
  if (!values) return `'${node.name}' has no constant ${want.input === 'other' ? 'operand' : `input ${want.input}`} of known value`;
  const tol = want.tolerance ?? 0;
  const fits = want.equals ? values.length === want.equals.length && want.equals.every((v, i) => Math.abs(values[i] - v) <= tol) : values.length === 1;
  return fits ? undefined : `'${node.name}' has constant [${Array.from(values).join(', ')}] where [${want.equals?.join(', ') ?? 'one value'}] is needed`;
}

/**
 * The float32 or int32 values of the Const output 0 of `ref` names, when it has at most 16
 * elements: matching looks for scalars and short vectors, and decoding a matrix only to reject it
 * would copy every weight of the model.
 */
function smallConstValues(graph: Graph, ref: string): Float32Array | Int32Array | undefined {
  const p = parseRef(ref);
  const node = p.output === 0 && !p.control ? graph.tryNode(p.node) : undefined;
  const w = node?.op === 'Const' ? graph.weights.get(node.name) : undefined;
  if (!w || w.spec.shape.reduce((a, b) => a * b, 1) > 16) return undefined;
  const v = graph.constValues(node!.name);
  return v instanceof Float32Array || v instanceof Int32Array ? v : undefined;
}

/** Walks `pattern` up from data input `input` of `from`. */
export function matchParentPath(graph: Graph, from: NodeDef, input: number, pattern: PathPattern): PathMatch | MatchFailure {
  const skip = pattern.when?.(from, graph);
  if (skip) return { pattern: pattern.name, step: 'start', reason: skip };
  return matchTensorPath(graph, dataInputs(from)[input], pattern);
}

/**
 * Walks the steps of `pattern` up from the tensor `start` (its `when` is not consulted: there is
 * no start node). Depth first over the inputs 'any' steps offer; of their failures, the one that
 * got furthest is returned (the check's, when some way matched every step).
 */
export function matchTensorPath(graph: Graph, start: string | undefined, pattern: PathPattern): PathMatch | MatchFailure {
  const reached = new Map<MatchFailure, number>();
  const fail = (step: string, reason: string, at: number): MatchFailure => {
    const f = { pattern: pattern.name, step, reason };
    reached.set(f, at);
    return f;
  };
  const walk = (i: number, ref: string | undefined, nodes: NodeDef[], via: number[]): PathMatch | MatchFailure => {
    if (i === pattern.steps.length) {
      const m: PathMatch = { pattern: pattern.name, nodes, via, end: ref ?? '' };
      const why = pattern.check?.(m, graph);
      return why === undefined ? m : fail('check', why, nodes.length + 1);
    }
    const step = pattern.steps[i];
    const following = pattern.steps[i + 1];
    const node = ref === undefined ? undefined : graph.tryNode(ref);
    const why = accepts(step, node, graph);
    if (why !== undefined) {
      // A repeated step ends at the first node it does not accept; an optional one is skipped.
      return step.repeat || step.optional ? walk(i + 1, ref, nodes, via) : fail(step.label, why, nodes.length);
    }
    let furthest: MatchFailure | undefined;
    for (const exit of exits(step, following, node!, graph)) {
      const mismatch = constMismatch(step, node!, exit, graph);
      const m = mismatch !== undefined ? fail(step.label, mismatch, nodes.length) : walk(step.repeat ? i : i + 1, exit < 0 ? undefined : dataInputs(node!)[exit], [...nodes, node!], [...via, exit]);
      if (!isFailure(m)) return m;
      if (!furthest || reached.get(m)! > reached.get(furthest)!) furthest = m;
    }
    return furthest ?? fail(step.label, `'${node!.name}' has no input to follow`, nodes.length);
  };
  return walk(0, start, [], []);
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
  const via: number[] = [];
  for (const step of pattern.steps) {
    for (let first = true; first || step.repeat; first = false) {
      const next = only(cur);
      const why = typeof next === 'string' ? next : accepts(step, next, graph);
      if (why !== undefined) {
        if (step.repeat || step.optional) break;
        return { pattern: pattern.name, step: step.label, reason: why };
      }
      nodes.push(next as NodeDef);
      via.push(dataInputs(next as NodeDef).findIndex((r) => parseRef(r).node === cur.name));
      cur = next as NodeDef;
    }
  }
  return { pattern: pattern.name, nodes, via, end: cur.name };
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

