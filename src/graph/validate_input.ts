// model.json checked before anything is built from it: the JSON has the shape of a graph model,
// the manifest is well formed and agrees with the graph (every Const has its weight, with the
// same shape and dtype), and the graph itself is sound (unique names, no dangling inputs, no
// cycles). A problem found here is the input's, and is reported as such, naming the entry; a
// problem found after rewriting is ours.

import { GraphError, ManifestError } from '../errors';
import { parseRef } from './ir';
import { shardPathProblem } from './safe_read';
import { ModelJson, NodeDef, WeightSpec } from './types';

/** GraphDef JSON is about 10 levels deep; anything near this is not a model. */
const MAX_JSON_DEPTH = 128;
/** tfjs tensors index with int32; a weight this large cannot be loaded anyway. */
const MAX_WEIGHT_ELEMENTS = 2 ** 31 - 1;

const WEIGHT_DTYPES = new Set(['float32', 'int32', 'bool']);
const QUANTIZED_DTYPES = new Set(['uint8', 'uint16', 'float16']);
const TF_DTYPE_OF: Record<string, string> = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deepest nesting of a parsed JSON value, walked without recursion so depth cannot overflow the stack. */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d);
    if (max > limit) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

/** Throws a GraphError unless `json` has the shape of a tfjs graph model. */
export function checkModelJsonShape(json: unknown, file: string): asserts json is ModelJson {
  const fail = (problem: string): never => {
    throw new GraphError(file, problem);
  };
  if (!isObject(json)) fail('not a tfjs model (expected a JSON object)');
  const j = json as Record<string, unknown>;
  if (jsonDepth(j) > MAX_JSON_DEPTH) fail(`nested more than ${MAX_JSON_DEPTH} levels deep; not a tfjs graph model`);
  if (j.format !== undefined && j.format !== 'graph-model') {
    fail(`format is ${JSON.stringify(j.format)}, expected 'graph-model' (a tfjs layers model cannot be rewritten)`);
  }
  const topo = j.modelTopology;
  if (!isObject(topo) || !Array.isArray(topo.node)) fail('not a graph model: modelTopology.node is missing');
  (topo as { node: unknown[] }).node.forEach((n, i) => {
    const problem = nodeShapeProblem(n);
    if (problem) fail(`modelTopology.node[${i}]${isObject(n) && typeof n.name === 'string' ? ` ('${n.name}')` : ''} ${problem}`);
  });
  if (!Array.isArray(j.weightsManifest)) throw new ManifestError(file, 'weightsManifest is missing');
  for (const key of ['signature', 'userDefinedMetadata'] as const) {
    if (j[key] !== undefined && j[key] !== null && !isObject(j[key])) fail(`${key} is not an object`);
  }
  const sig = j.signature as Record<string, unknown> | undefined | null;
  for (const side of ['inputs', 'outputs'] as const) {
    const entries = sig?.[side];
    if (entries === undefined || entries === null) continue;
    if (!isObject(entries)) fail(`signature.${side} is not an object`);
    for (const [key, e] of Object.entries(entries as object)) {
      if (!isObject(e) || typeof e.name !== 'string') fail(`signature.${side}.${key} has no tensor name`);
      const dims = (e as { tensorShape?: { dim?: unknown } }).tensorShape?.dim;
      if (dims !== undefined && (!Array.isArray(dims) || !dims.every((d) => isObject(d)))) {
        fail(`signature.${side}.${key}.tensorShape.dim is not a list of dimensions`);
      }
      // JSON.parse reads 1e999 as Infinity, which the writers would then emit as null.
      const bad = ((dims ?? []) as Record<string, unknown>[]).findIndex((d) => d.size !== undefined && !isDimSize(d.size));
      if (bad >= 0) fail(`signature.${side}.${key}.tensorShape.dim[${bad}].size is not a whole number of at least -1 (-1: unknown)`);
    }
  }
}

/** A TensorShapeProto dim size as proto3 JSON writes it: an int64, as a number or a decimal string. */
function isDimSize(v: unknown): boolean {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= -1;
}

function nodeShapeProblem(n: unknown): string | undefined {
  if (!isObject(n)) return 'is not an object';
  if (typeof n.name !== 'string' || n.name === '') return 'has no name';
  if (typeof n.op !== 'string' || n.op === '') return 'has no op';
  if (n.input !== undefined && (!Array.isArray(n.input) || !n.input.every((r) => typeof r === 'string' && r !== ''))) {
    return 'has inputs that are not a list of tensor names';
  }
  if (n.attr !== undefined && !isObject(n.attr)) return 'has attributes that are not an object';
  if (isObject(n.attr) && !Object.values(n.attr).every(isObject)) return 'has an attribute value that is not an object';
  return undefined;
}

/** Throws a ManifestError for the first malformed weightsManifest entry. */
export function checkManifest(json: ModelJson, file: string): void {
  const seen = new Set<string>();
  json.weightsManifest.forEach((g, gi) => {
    const where = `weightsManifest[${gi}]`;
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new ManifestError(file, `${where} needs 'paths' and 'weights' arrays`);
    }
    if (g.paths.length === 0 && g.weights.length > 0) throw new ManifestError(file, `${where} lists weights but no shard paths`);
    for (const p of g.paths) {
      const problem = shardPathProblem(p);
      if (problem) throw new ManifestError(file, `${where} path ${JSON.stringify(p)} ${problem}`);
    }
    g.weights.forEach((w, wi) => {
      const named = isObject(w) && typeof w.name === 'string' ? ` ('${w.name}')` : '';
      const problem = weightSpecProblem(w);
      if (problem) throw new ManifestError(file, `${where}.weights[${wi}]${named} ${problem}`);
      if (seen.has(w.name)) throw new ManifestError(file, `${where}.weights[${wi}]${named} is listed twice`);
      seen.add(w.name);
    });
  });
}

function weightSpecProblem(w: unknown): string | undefined {
  if (!isObject(w)) return 'is not an object';
  if (typeof w.name !== 'string' || w.name === '') return 'has no name';
  const shape = w.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    return `has shape ${JSON.stringify(shape)}, expected a list of non-negative integers`;
  }
  if (shape.reduce((a: number, b: number) => a * b, 1) > MAX_WEIGHT_ELEMENTS) return `has shape [${shape}], too large for a tfjs tensor`;
  if (typeof w.dtype !== 'string' || !WEIGHT_DTYPES.has(w.dtype)) {
    return `has dtype ${JSON.stringify(w.dtype)}; tfjs-turbo reads float32, int32 and bool weights`;
  }
  const q = w.quantization;
  if (q === undefined) return undefined;
  if (!isObject(q) || typeof q.dtype !== 'string' || !QUANTIZED_DTYPES.has(q.dtype)) {
    return `has quantization ${JSON.stringify(q)}; expected dtype uint8, uint16 or float16`;
  }
  if (w.dtype === 'bool') return 'is a quantized bool, which tfjs does not support';
  if (q.dtype !== 'float16') {
    for (const k of ['scale', 'min'] as const) {
      if (typeof q[k] !== 'number' || !Number.isFinite(q[k])) return `has ${q.dtype} quantization without a finite '${k}'`;
    }
  }
  if (q.original_dtype !== undefined && q.original_dtype !== w.dtype) {
    return `has quantization.original_dtype ${JSON.stringify(q.original_dtype)} but dtype ${JSON.stringify(w.dtype)}`;
  }
  return undefined;
}

/**
 * Throws a GraphError for structure problems already in the input (duplicate names, inputs that
 * name no node, cycles) and a ManifestError when a Const's weight is missing or disagrees with it.
 */
export function checkGraphAgainstManifest(json: ModelJson, file: string): void {
  const nodes = json.modelTopology.node;
  const byName = new Map<string, NodeDef>();
  for (const n of nodes) {
    if (byName.has(n.name)) throw new GraphError(file, `two nodes are named '${n.name}'`);
    byName.set(n.name, n);
  }
  for (const n of nodes) {
    for (const ref of n.input ?? []) {
      if (!byName.has(parseRef(ref).node)) throw new GraphError(file, `node '${n.name}' reads '${ref}', which no node produces`);
    }
  }
  const cycle = nodeOnCycle(nodes, byName);
  if (cycle) throw new GraphError(file, `the graph has a cycle through node '${cycle}'`);

  const specs = new Map<string, WeightSpec>();
  for (const g of json.weightsManifest) for (const w of g.weights) specs.set(w.name, w);
  for (const n of nodes) {
    if (n.op !== 'Const') continue;
    const spec = specs.get(n.name);
    if (!spec) throw new ManifestError(file, `Const node '${n.name}' has no weight in weightsManifest`);
    const tf = TF_DTYPE_OF[spec.dtype];
    const declared = n.attr?.dtype?.type ?? n.attr?.value?.tensor?.dtype;
    // tfjs has no int64: tensorflowjs_converter stores int64 constants as int32 weights.
    const narrowed = declared === 'DT_INT64' && tf === 'DT_INT32';
    if (declared !== undefined && declared !== tf && !narrowed) {
      throw new ManifestError(file, `weight '${n.name}' has dtype ${spec.dtype} but its Const node says ${String(declared)}`);
    }
    const dims = n.attr?.value?.tensor?.tensorShape?.dim;
    if (Array.isArray(dims)) {
      // proto3 JSON omits zero values: a dim without 'size' has size 0.
      const shape = dims.map((d) => Number(isObject(d) ? d.size ?? 0 : NaN));
      if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
        throw new ManifestError(file, `weight '${n.name}' has shape [${spec.shape}] but its Const node says [${shape}]`);
      }
    }
  }
}

/** A node on a cycle, found by peeling nodes whose inputs are all resolved (Kahn). */
function nodeOnCycle(nodes: NodeDef[], byName: Map<string, NodeDef>): string | undefined {
  const pending = new Map<string, number>();
  const readers = new Map<string, string[]>();
  for (const n of nodes) {
    const deps = new Set((n.input ?? []).map((r) => parseRef(r).node));
    pending.set(n.name, deps.size);
    for (const d of deps) {
      if (!readers.has(d)) readers.set(d, []);
      readers.get(d)!.push(n.name);
    }
  }
  const ready = nodes.filter((n) => pending.get(n.name) === 0).map((n) => n.name);
  let done = 0;
  while (ready.length) {
    const name = ready.pop()!;
    done++;
    for (const r of readers.get(name) ?? []) {
      const left = pending.get(r)! - 1;
      pending.set(r, left);
      if (left === 0) ready.push(r);
    }
  }
  if (done === nodes.length) return undefined;
  return [...pending.entries()].find(([name, left]) => left > 0 && byName.has(name))?.[0];
}
