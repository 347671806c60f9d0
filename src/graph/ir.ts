// A small mutable graph over the GraphDef JSON of a tfjs graph model: just what a rewriting
// pass needs (look-ups, consumers, insertion, rewiring, constants backed by weights).
// Nodes stay as the JSON objects they were read as, so untouched parts are written back as-is.

import { AttrValue, ModelJson, NodeDef, StoredWeight, WeightDtype } from './types';

/** "name", "name:1" or "^name" (control input) split into its parts. */
export interface TensorRef {
  node: string;
  output: number;
  control: boolean;
}

export function parseRef(ref: string): TensorRef {
  const control = ref.startsWith('^');
  const body = control ? ref.slice(1) : ref;
  const m = /^(.*):(\d+)$/.exec(body);
  return m ? { node: m[1], output: Number(m[2]), control } : { node: body, output: 0, control };
}

export function formatRef(node: string, output = 0): string {
  return output === 0 ? node : `${node}:${output}`;
}

export interface Consumer {
  node: NodeDef;
  inputIndex: number;
}

const DTYPE_TO_TF: Record<string, string> = {
  float32: 'DT_FLOAT',
  int32: 'DT_INT32',
  bool: 'DT_BOOL',
};

/**
 * What a rewrite changed in the graph it was given, enough to undo it exactly: the nodes it added
 * and, for every input of an original node it re-pointed, the input it had before.
 */
export interface EditJournal {
  added: string[];
  rewired: [node: string, inputIndex: number, originalRef: string][];
}

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
  /**
   * Consumer index: producer node name -> names of the nodes reading it through a data input.
   * Kept by every Graph method that adds, removes or rewires; code that edits `node.input` directly
   * must call reindex().
   */
  private readers = new Map<string, Set<string>>();
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
    for (const n of this.nodeList) for (const ref of n.input ?? []) this.link(ref, n.name);
    this.positions = undefined;
  }

  private link(ref: string, reader: string): void {
    const p = parseRef(ref);
    if (p.control) return;
    let set = this.readers.get(p.node);
    if (!set) this.readers.set(p.node, (set = new Set()));
    set.add(reader);
  }

  /** Drops reader -> producer of `ref` unless another data input of `reader` still reads that producer. */
  private unlink(ref: string, reader: NodeDef): void {
    const p = parseRef(ref);
    if (p.control) return;
    const still = (reader.input ?? []).some((r) => {
      const q = parseRef(r);
      return !q.control && q.node === p.node;
    });
    if (!still) this.readers.get(p.node)?.delete(reader.name);
  }

  private position(name: string): number {
    if (!this.positions) this.positions = new Map(this.nodeList.map((n, i) => [n.name, i]));
    return this.positions.get(name) ?? Infinity;
  }

  /** Starts recording additions and re-pointed inputs (see EditJournal). */
  startJournal(): EditJournal {
    this.journal = { added: [], rewired: [] };
    this.journalAdded = new Set();
    return this.journal;
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

  /** A name not yet used in the graph, derived from `base`. */
  uniqueName(base: string): string {
    if (!this.byName.has(base)) return base;
    for (let i = 1; ; i++) if (!this.byName.has(`${base}_${i}`)) return `${base}_${i}`;
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
    this.byName.delete(name);
    this.nodeList.splice(this.nodeList.indexOf(n), 1);
    for (const ref of n.input ?? []) this.readers.get(parseRef(ref).node)?.delete(name);
    this.positions = undefined;
    if (n.op === 'Const' && this.weights.delete(name)) this.weightsChanged = true;
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

  /** Removes nodes no output depends on. Returns the names removed. */
  prune(outputs: string[]): string[] {
    const live = new Set<string>();
    const stack = outputs.map((o) => parseRef(o).node);
    while (stack.length) {
      const name = stack.pop()!;
      if (live.has(name)) continue;
      live.add(name);
      for (const ref of this.byName.get(name)?.input ?? []) stack.push(parseRef(ref).node);
    }
    const dead = this.nodeList.filter((n) => !live.has(n.name) && n.op !== 'Placeholder');
    for (const n of dead) this.removeNode(n.name);
    return dead.map((n) => n.name);
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

export function dataInputs(node: NodeDef): string[] {
  return (node.input ?? []).filter((r) => !r.startsWith('^'));
}

export function shapeProto(shape: number[]): { dim: { size: string }[] } {
  return { dim: shape.map((s) => ({ size: String(s) })) };
}

export function attrInt(node: NodeDef, key: string): number | undefined {
  const v = node.attr?.[key]?.i;
  return v === undefined ? undefined : Number(v);
}


export function intAttr(i: number): AttrValue {
  return { i: String(i) };
}

export function floatAttr(f: number): AttrValue {
  return { f };
}

export function boolAttr(b: boolean): AttrValue {
  return { b };
}


/** Decodes stored bytes the way tfjs does, dequantizing uint8/uint16/float16 to float32. */
export function decodeWeight(w: StoredWeight): Float32Array | Int32Array | Uint8Array {
  const { spec, bytes } = w;
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const q = spec.quantization;
  if (q) {
    const targetInt = (q.original_dtype ?? spec.dtype) === 'int32';
    let out: Float32Array;
    if (q.dtype === 'float16') {
      out = float16ToFloat32(new Uint16Array(buf));
    } else {
      const raw = q.dtype === 'uint8' ? new Uint8Array(buf) : new Uint16Array(buf);
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      out = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = raw[i] * scale + min;
    }
    return targetInt ? Int32Array.from(out, Math.round) : out;
  }
  switch (spec.dtype as WeightDtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'bool':
      return new Uint8Array(buf);
    default:
      throw new Error(`weight '${spec.name}': dtype ${spec.dtype} is not supported`);
  }
}

export function float16ToFloat32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const v = h[i];
    const sign = v & 0x8000 ? -1 : 1;
    const exp = (v >> 10) & 0x1f;
    const frac = v & 0x3ff;
    if (exp === 0) out[i] = sign * 2 ** -14 * (frac / 1024);
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return out;
}

/** Byte length a weight occupies in a shard. */
export function storedByteLength(spec: { shape: number[]; dtype: string; quantization?: { dtype: string } }): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization?.dtype;
  const per = q === 'uint8' ? 1 : q === 'uint16' || q === 'float16' ? 2 : spec.dtype === 'bool' ? 1 : 4;
  return size * per;
}
