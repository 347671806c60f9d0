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
