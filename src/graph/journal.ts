// What a rewrite changed in the graph it was given, enough to undo it exactly (the record behind
// --strip): the nodes it added, the original inputs it re-pointed, and the original nodes its
// cleanup pruned, with their weights. It lives in model.json metadata, so it is plain JSON.

import { NodeDef, WeightSpec } from './types';

export interface RemovedNode {
  /** The node as it was when pruned (its inputs as the rewrite left them; `rewired` restores them). */
  node: NodeDef;
  /** A Const's weight: the manifest entry, its position among the weights when removed, its bytes in base64. */
  weight?: { spec: WeightSpec; index: number; data: string };
}

export interface EditJournal {
  added: string[];
  rewired: [node: string, inputIndex: number, originalRef: string][];
  /** Original nodes pruned once unused, in removal order (absent in records older than pruning). */
  removed?: RemovedNode[];
  /**
   * Original nodes the final topological sort moved, with their original positions (see
   * movedNodes); absent in older records, whose strip falls back to a topological sort.
   */
  moved?: [node: string, index: number][];
}

/**
 * The original nodes to record so that `before`'s order can be rebuilt from `after`'s: all but a
 * longest run that kept its relative order (a longest increasing subsequence of old positions), so
 * the record stays small when a rewrite moves few nodes. Nodes absent from `after` are recorded too.
 */
export function movedNodes(before: readonly string[], after: readonly string[]): [string, number][] {
  const oldIndex = new Map(before.map((n, i) => [n, i]));
  const seq = after.filter((n) => oldIndex.has(n)).map((n) => oldIndex.get(n)!);
  const kept = new Set(longestIncreasing(seq));
  return before.map((n, i) => [n, i] as [string, number]).filter(([, i]) => !kept.has(i));
}

/** The values of a longest strictly increasing subsequence of `seq` (patience sorting, O(n log n)). */
function longestIncreasing(seq: readonly number[]): number[] {
  const tails: number[] = []; // index into seq of the smallest tail of an increasing run of each length
  const prev: number[] = new Array(seq.length).fill(-1);
  seq.forEach((v, i) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seq[tails[mid]] < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tails[lo - 1];
    tails[lo] = i;
  });
  const out: number[] = [];
  for (let i = tails.length ? tails[tails.length - 1] : -1; i >= 0; i = prev[i]) out.push(seq[i]);
  return out.reverse();
}

/**
 * The original order from `current` (the node names now, exactly the original set) and the moved
 * record: moved nodes go back to their positions, the rest fill the other slots in current order.
 * Undefined when the sets disagree (the graph was edited after the rewrite).
 */
export function originalOrder(current: readonly string[], moved: readonly [string, number][]): string[] | undefined {
  const out: (string | undefined)[] = new Array(current.length).fill(undefined);
  const movedNames = new Set<string>();
  for (const [name, i] of moved) {
    if (i >= out.length || out[i] !== undefined) return undefined;
    out[i] = name;
    movedNames.add(name);
  }
  const rest = current.filter((n) => !movedNames.has(n));
  if (rest.length + movedNames.size !== current.length) return undefined;
  let r = 0;
  for (let i = 0; i < out.length; i++) if (out[i] === undefined) out[i] = rest[r++];
  return out as string[];
}

/** Whether `j` has the shape of an EditJournal (read back from metadata, so untrusted). */
export function isEditJournal(j: unknown): j is EditJournal {
  const r = j as Partial<EditJournal> | undefined;
  const isObject = (o: unknown): o is Record<string, unknown> => !!o && typeof o === 'object' && !Array.isArray(o);
  return (
    isObject(r) &&
    Array.isArray(r.added) &&
    r.added.every((n) => typeof n === 'string') &&
    Array.isArray(r.rewired) &&
    r.rewired.every((w) => Array.isArray(w) && typeof w[0] === 'string' && Number.isInteger(w[1]) && w[1] >= 0 && typeof w[2] === 'string') &&
    (r.moved === undefined || (Array.isArray(r.moved) && r.moved.every((m) => Array.isArray(m) && typeof m[0] === 'string' && Number.isInteger(m[1]) && m[1] >= 0))) &&
    (r.removed === undefined ||
      (Array.isArray(r.removed) &&
        r.removed.every(
          (e) =>
            isObject(e) &&
            isObject(e.node) &&
            typeof e.node.name === 'string' &&
            typeof e.node.op === 'string' &&
            (e.weight === undefined ||
              (isObject(e.weight) && isObject(e.weight.spec) && typeof e.weight.spec.name === 'string' && Number.isInteger(e.weight.index) && e.weight.index >= 0 && typeof e.weight.data === 'string')),
        )))
  );
}
