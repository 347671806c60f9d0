// A small mutable graph over the GraphDef JSON of a tfjs graph model: just what a rewriting
// pass needs (look-ups, consumers, insertion, rewiring, constants backed by weights).
// Nodes stay as the JSON objects they were read as, so untouched parts are written back as-is.

import { EditJournal, RemovedNode, movedNodes } from './journal';
import { dataInputs, parseRef, shapeProto } from './refs';
import { ModelJson, NodeDef, StoredWeight } from './types';
import { base64ToBytes, bytesToBase64, decodeWeight } from './weights';

export * from './refs';
export * from './weights';
export type { EditJournal, RemovedNode } from './journal';

export interface Consumer {
  node: NodeDef;
  inputIndex: number;
}

const DTYPE_TO_TF: Record<string, string> = {
  float32: 'DT_FLOAT',
  int32: 'DT_INT32',
  bool: 'DT_BOOL',
};

export class Graph {
  /** model.json without its node list; weightsManifest is rebuilt on write when weights changed. */
  readonly modelJson: ModelJson;
  private readonly nodeList: NodeDef[];
  private readonly byName = new Map<string, NodeDef>();
  /** Weights in manifest order; Map preserves insertion order. */
  readonly weights: Map<string, StoredWeight>;
  /** True once a weight was added or removed: the writer must re-shard. */
  weightsChanged = false;
  private journal: EditJournal | undefined;
  private journalAdded = new Set<string>();
  /** Node order when the journal started. */
  private orderBefore: string[] = [];
  /**
   * Consumer index: producer node name -> names of the nodes reading it through a data input.
   * Kept by every Graph method that adds, removes or rewires; code that edits `node.input` directly
   * must call reindex().
   */
  private readers = new Map<string, Set<string>>();
  /** Producer node name -> names of the nodes naming it as a control input ("^name"). */
  private controlReaders = new Map<string, Set<string>>();
  /** Node name -> position in the node list, rebuilt on demand after the list changes. */
  private positions: Map<string, number> | undefined;

  constructor(modelJson: ModelJson, weights: StoredWeight[]) {
    this.modelJson = modelJson;
    this.nodeList = modelJson.modelTopology.node;
    for (const n of this.nodeList) this.byName.set(n.name, n);
    this.weights = new Map(weights.map((w) => [w.spec.name, w]));
    this.reindex();
  }

  /** Rebuilds the consumer index from the nodes' inputs. */
  reindex(): void {
    this.readers.clear();
    this.controlReaders.clear();
    for (const n of this.nodeList) for (const ref of n.input ?? []) this.link(ref, n.name);
    this.positions = undefined;
  }

  private link(ref: string, reader: string): void {
    const p = parseRef(ref);
    const index = p.control ? this.controlReaders : this.readers;
    let set = index.get(p.node);
    if (!set) index.set(p.node, (set = new Set()));
    set.add(reader);
  }

  /** Drops reader -> producer of `ref` unless another input of `reader` of the same kind still reads that producer. */
  private unlink(ref: string, reader: NodeDef): void {
    const p = parseRef(ref);
    const still = (reader.input ?? []).some((r) => {
      const q = parseRef(r);
      return q.control === p.control && q.node === p.node;
    });
    if (!still) (p.control ? this.controlReaders : this.readers).get(p.node)?.delete(reader.name);
  }

  private position(name: string): number {
    if (!this.positions) this.positions = new Map(this.nodeList.map((n, i) => [n.name, i]));
    return this.positions.get(name) ?? Infinity;
  }

  /** Starts recording additions and re-pointed inputs (see EditJournal). */
  startJournal(): EditJournal {
    this.orderBefore = this.nodeNames();
    this.journal = { added: [], rewired: [], removed: [] };
    this.journalAdded = new Set();
    return this.journal;
  }

  /** Stops recording; returns what was recorded. */
  stopJournal(): EditJournal {
    const j = this.journal;
    if (!j) throw new Error('no journal is running');
    this.journal = undefined;
    this.journalAdded = new Set();
    return j;
  }

  /**
   * Stops recording, sorts the nodes topologically and records which original nodes the sort moved,
   * so --strip can give back the original file's node order, not merely a valid one.
   */
  finishJournal(): EditJournal {
    const j = this.stopJournal();
    this.topoSort();
    j.moved = movedNodes(this.orderBefore, this.nodeNames());
    return j;
  }

  private noteRewire(node: NodeDef, index: number, oldRef: string): void {
    const j = this.journal;
    if (!j || this.journalAdded.has(node.name)) return;
    if (j.rewired.some(([n, i]) => n === node.name && i === index)) return;
    j.rewired.push([node.name, index, oldRef]);
  }

  get nodes(): readonly NodeDef[] {
    return this.nodeList;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  node(name: string): NodeDef {
    const n = this.byName.get(parseRef(name).node);
    if (!n) throw new Error(`graph has no node named '${name}'`);
    return n;
  }

  tryNode(name: string): NodeDef | undefined {
    return this.byName.get(parseRef(name).node);
  }

  /** The node producing data input `index` of `node` (control inputs are not counted). */
  inputNode(node: NodeDef, index: number): NodeDef | undefined {
    const ref = dataInputs(node)[index];
    return ref === undefined ? undefined : this.tryNode(ref);
  }

  /** The nodes reading any output of `name` through a data input, in graph order. */
  consumerNodes(name: string): NodeDef[] {
    const names = [...(this.readers.get(parseRef(name).node) ?? [])];
    return names
      .map((n) => this.byName.get(n))
      .filter((n): n is NodeDef => n !== undefined)
      .sort((a, b) => this.position(a.name) - this.position(b.name));
  }

  /**
   * How many input slots name `name`: data inputs (each occurrence) plus the nodes holding it as a
   * control input. A pass that removes a node must have accounted for every one of them.
   */
  readCount(name: string): number {
    const target = parseRef(name).node;
    return this.consumers(target).length + (this.controlReaders.get(target)?.size ?? 0);
  }

  /** Every (node, input index) reading any output of `name` (data inputs only), in graph order. */
  consumers(name: string): Consumer[] {
    const target = parseRef(name).node;
    const out: Consumer[] = [];
    for (const n of this.consumerNodes(target)) {
      (n.input ?? []).forEach((ref, i) => {
        const p = parseRef(ref);
        if (!p.control && p.node === target) out.push({ node: n, inputIndex: i });
      });
    }
    return out;
  }

  /** Adds a node; names must be unique. Order is fixed up by topoSort() before writing. */
  addNode(node: NodeDef): NodeDef {
    if (this.byName.has(node.name)) throw new Error(`graph already has a node named '${node.name}'`);
    this.nodeList.push(node);
    this.byName.set(node.name, node);
    for (const ref of node.input ?? []) this.link(ref, node.name);
    this.positions = undefined;
    if (this.journal) {
      this.journal.added.push(node.name);
      this.journalAdded.add(node.name);
    }
    return node;
  }

  /** A name not yet used in the graph nor in `reserved` (names handed out for nodes not added yet), derived from `base`. */
  uniqueName(base: string, reserved: ReadonlySet<string> = new Set()): string {
    const free = (name: string) => !this.byName.has(name) && !reserved.has(name);
    if (free(base)) return base;
    for (let i = 1; ; i++) if (free(`${base}_${i}`)) return `${base}_${i}`;
  }

  /**
   * Puts `by` in the node list where node `name` stands, in that order; one of them may take its
   * name, so the consumers of `name` read the replacement without being rewired. Keeping the
   * position keeps an already sorted list sorted (topoSort() then leaves it as it is).
   */
  replaceNode(name: string, by: readonly NodeDef[]): void {
    const n = this.node(name);
    if (this.journal) throw new Error(`replacing node '${name}' would make the rewrite irreversible`);
    const at = this.nodeList.indexOf(n);
    this.drop(n);
    for (const b of by) if (this.byName.has(b.name)) throw new Error(`graph already has a node named '${b.name}'`);
    this.nodeList.splice(at, 0, ...by);
    for (const b of by) {
      this.byName.set(b.name, b);
      for (const ref of b.input ?? []) this.link(ref, b.name);
    }
  }

  /**
   * A graph of its own over the same model: its node list, nodes and consumer index are copies (a
   * pass can rewrite it and leave this one as it was); weights are shared, and never written in place.
   */
  copy(): Graph {
    const node = this.nodeList.map((n) => (n.input ? { ...n, input: [...n.input] } : { ...n }));
    return new Graph({ ...this.modelJson, modelTopology: { ...this.modelJson.modelTopology, node } }, [...this.weights.values()]);
  }

  /** Points every data input that reads exactly `oldRef` at `newRef`, except in the nodes listed. */
  replaceAllUses(oldRef: string, newRef: string, except: ReadonlySet<string> = new Set()): number {
    const old = parseRef(oldRef);
    let count = 0;
    for (const n of this.consumerNodes(old.node)) {
      if (except.has(n.name) || !n.input) continue;
      let changed = false;
      n.input = n.input.map((ref, i) => {
        const p = parseRef(ref);
        if (!p.control && p.node === old.node && p.output === old.output) {
          count++;
          changed = true;
          this.noteRewire(n, i, ref);
          return newRef;
        }
        return ref;
      });
      if (changed) {
        this.unlink(oldRef, n);
        this.link(newRef, n.name);
      }
    }
    return count;
  }

  setInput(node: NodeDef, index: number, ref: string): void {
    if (!node.input || index >= node.input.length) {
      throw new Error(`node '${node.name}' has no input ${index}`);
    }
    this.noteRewire(node, index, node.input[index]);
    const old = node.input[index];
    node.input[index] = ref;
    this.unlink(old, node);
    this.link(ref, node.name);
  }

  removeNode(name: string): void {
    const n = this.byName.get(name);
    if (!n) return;
    if (this.journal && !this.journalAdded.has(name)) throw new Error(`removing original node '${name}' would make the rewrite irreversible`);
    if (this.journal) {
      // An added node removed again (a lowering) no longer needs undoing.
      this.journal.added.splice(this.journal.added.indexOf(name), 1);
      this.journalAdded.delete(name);
    }
    this.drop(n);
  }

  private drop(n: NodeDef): void {
    this.byName.delete(n.name);
    this.nodeList.splice(this.nodeList.indexOf(n), 1);
    for (const ref of n.input ?? []) {
      const p = parseRef(ref);
      (p.control ? this.controlReaders : this.readers).get(p.node)?.delete(n.name);
    }
    this.positions = undefined;
    if (n.op === 'Const' && this.weights.delete(n.name)) this.weightsChanged = true;
  }

  /**
   * Removes nodes no output depends on, except Placeholders and the nodes `keep` names. While a
   * journal runs, original nodes are recorded in it with their weights (restoreRemoved brings them
   * back). Returns the names removed.
   */
  prune(outputs: string[], keep: ReadonlySet<string> = new Set()): string[] {
    const live = this.liveNodes(outputs);
    const dead = this.nodeList.filter((n) => !live.has(n.name) && !keep.has(n.name) && n.op !== 'Placeholder');
    for (const n of dead) {
      if (this.journal && !this.journalAdded.has(n.name)) {
        const index = [...this.weights.keys()].indexOf(n.name);
        const w = n.op === 'Const' ? this.weights.get(n.name) : undefined;
        const entry: RemovedNode = { node: n };
        if (w) entry.weight = { spec: w.spec, index, data: bytesToBase64(w.bytes) };
        this.journal.removed!.push(entry);
        this.drop(n);
      } else {
        this.removeNode(n.name);
      }
    }
    return dead.map((n) => n.name);
  }

  /** Puts back nodes prune() recorded (in reverse order, so every weight returns to its place). */
  restoreRemoved(removed: readonly RemovedNode[]): void {
    for (const { node, weight } of [...removed].reverse()) {
      if (weight) {
        const entries = [...this.weights.entries()];
        entries.splice(Math.min(weight.index, entries.length), 0, [weight.spec.name, { spec: weight.spec, bytes: base64ToBytes(weight.data) }]);
        this.weights.clear();
        for (const [k, v] of entries) this.weights.set(k, v);
        this.weightsChanged = true;
      }
      this.addNode(node);
    }
  }

  /** Names of the nodes some output depends on (through data or control inputs). */
  liveNodes(outputs: string[]): Set<string> {
    const live = new Set<string>();
    const stack = outputs.map((o) => parseRef(o).node);
    while (stack.length) {
      const name = stack.pop()!;
      if (live.has(name)) continue;
      live.add(name);
      for (const ref of this.byName.get(name)?.input ?? []) stack.push(parseRef(ref).node);
    }
    return live;
  }

  /** A Const node whose value lives in the weights, as tensorflowjs_converter stores constants. */
  addConst(name: string, dtype: 'float32' | 'int32', shape: number[], values: ArrayLike<number>): NodeDef {
    const size = shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) {
      throw new Error(`constant '${name}': ${values.length} values for shape [${shape}]`);
    }
    const data = dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
    this.weights.set(name, {
      spec: { name, shape, dtype },
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    this.weightsChanged = true;
    return this.addNode({
      name,
      op: 'Const',
      attr: {
        value: { tensor: { dtype: DTYPE_TO_TF[dtype], tensorShape: shapeProto(shape) } },
        dtype: { type: DTYPE_TO_TF[dtype] },
      },
    });
  }

  /** Int32 or float32 values of a Const node, decoded from its weight. */
  constValues(name: string): Float32Array | Int32Array | undefined {
    const n = this.tryNode(name);
    if (!n || n.op !== 'Const') return undefined;
    const w = this.weights.get(n.name);
    if (!w) return undefined;
    return decodeWeight(w) as Float32Array | Int32Array;
  }


  /**
   * Sorts nodes so every node follows its inputs, keeping the existing order where it already
   * holds (stable), and drops nothing. Throws on a cycle.
   */
  /** Every node that reads `name`, directly or through others, by the consumer index. */
  descendants(name: string): Set<string> {
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length) {
      for (const reader of this.readers.get(stack.pop()!) ?? []) {
        if (!seen.has(reader)) {
          seen.add(reader);
          stack.push(reader);
        }
      }
    }
    return seen;
  }

  /** Node names in list order. */
  nodeNames(): string[] {
    return this.nodeList.map((n) => n.name);
  }

  /**
   * Puts the nodes in `order` (the same set of names); false, changing nothing, when the sets differ.
   * For --strip, which restores the original file's order rather than a sort of its own.
   */
  reorder(order: readonly string[]): boolean {
    if (order.length !== this.nodeList.length || !order.every((n) => this.byName.has(n)) || new Set(order).size !== order.length) return false;
    this.nodeList.splice(0, this.nodeList.length, ...order.map((n) => this.byName.get(n)!));
    this.positions = undefined;
    return true;
  }

  topoSort(): void {
    const sorted = this.topoOrder();
    this.nodeList.splice(0, this.nodeList.length, ...sorted);
    this.positions = undefined;
  }

  /** The nodes in the order topoSort() would put them, leaving the graph as it is. */
  topoOrder(): NodeDef[] {
    const index = new Map(this.nodeList.map((n, i) => [n.name, i]));
    const state = new Map<string, 1 | 2>();
    const sorted: NodeDef[] = [];
    const visit = (root: NodeDef) => {
      const stack: [NodeDef, number][] = [[root, 0]];
      while (stack.length) {
        const top = stack[stack.length - 1];
        const [n, i] = top;
        if (i === 0) {
          if (state.get(n.name) === 2) {
            stack.pop();
            continue;
          }
          state.set(n.name, 1);
        }
        const inputs = n.input ?? [];
        if (i < inputs.length) {
          top[1]++;
          const dep = this.byName.get(parseRef(inputs[i]).node);
          if (!dep || !index.has(dep.name)) continue;
          const s = state.get(dep.name);
          if (s === 1) throw new Error(`graph has a cycle through '${dep.name}'`);
          if (s !== 2) stack.push([dep, 0]);
        } else {
          state.set(n.name, 2);
          sorted.push(n);
          stack.pop();
        }
      }
    };
    for (const n of this.nodeList) visit(n);
    return sorted;
  }

  /** Every data input resolves to an existing node: a cheap validity check for rewritten graphs. */
  danglingInputs(): string[] {
    const missing: string[] = [];
    for (const n of this.nodeList) {
      for (const ref of n.input ?? []) {
        if (!this.byName.has(parseRef(ref).node)) missing.push(`${n.name} <- ${ref}`);
      }
    }
    return missing;
  }

  /** Names of the signature's output tensors, or the graph's sinks when there is no signature. */
  outputNames(): string[] {
    const outs = this.modelJson.signature?.outputs;
    if (outs && Object.keys(outs).length) return Object.values(outs).map((o) => o.name);
    const consumed = new Set<string>();
    for (const n of this.nodeList) for (const r of n.input ?? []) consumed.add(parseRef(r).node);
    return this.nodeList.filter((n) => !consumed.has(n.name)).map((n) => n.name);
  }
}
