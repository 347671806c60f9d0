// convert-with-turbo --format savedmodel, without running TensorFlow: what is written (decoded
// with the same .proto files), the signature, the TurboMerge N attr, the lowering of fused ops TF
// cannot run, and the output-directory rules (atomic write, --force only over model directories).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildProgram } from '../../src/cli/convert-with-turbo';
import { runProgram } from '../../src/cli/run';
import { embeddedModelDir } from '../../src/convert';
import { Graph } from '../../src/graph/ir';
import { NodeDef } from '../../src/graph/types';
import { protoType } from '../../src/savedmodel/proto';
import { splitFusedOps } from '../../src/savedmodel/split_fused';
import { loadTurboSavedModel } from '../../src/savedmodel/load';

let tmp: string;
beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-sm-cli-'))));
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = '';
  let out = '';
  const log = jest.spyOn(console, 'log').mockImplementation((s: string) => void (out += `${s}\n`));
  try {
    const code = await runProgram(buildProgram(), args, { err: (s) => (err += s) });
    return { code, err, out };
  } finally {
    log.mockRestore();
  }
}

interface Decoded {
  metaGraphs: {
    metaInfoDef: { tags: string[] };
    graphDef: { node: { name: string; op: string; input?: string[]; attr?: Record<string, { i?: string; tensor?: { tensorContent?: string } }>; device?: string }[] };
    signatureDef: Record<string, { inputs: Record<string, { name: string }>; outputs: Record<string, { name: string }> }>;
  }[];
}

function decode(dir: string): Decoded {
  const SavedModel = protoType('SavedModel');
  const msg = SavedModel.decode(fs.readFileSync(path.join(dir, 'saved_model.pb')));
  return SavedModel.toObject(msg, { longs: String, bytes: String, defaults: false }) as unknown as Decoded;
}

test('a Turbo SavedModel: serve tag, serving_default pixel_values -> logits, every Const with its value, N on each TurboMerge', async () => {
  const out = path.join(tmp, 'out');
  const r = await cli(embeddedModelDir(), out, '--r', '13', '--alpha', '1', '--format', 'savedmodel');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  expect(r.out).toContain('serving_default: pixel_values -> logits');
  expect(r.out).toContain('needs the Turbo op library');
  expect(fs.readdirSync(out).sort()).toEqual(['saved_model.pb', 'variables']);
  expect(fs.readdirSync(path.join(out, 'variables'))).toEqual([]);
  const [meta] = decode(out).metaGraphs;
  expect(meta.metaInfoDef.tags).toEqual(['serve']);
  const sig = meta.signatureDef.serving_default;
  expect(sig.inputs.pixel_values.name).toBe('pixel_values:0');
  expect(sig.outputs.logits.name).toBe('Identity:0');
  const nodes = meta.graphDef.node;
  const consts = nodes.filter((n) => n.op === 'Const');
  const missing = consts.filter((n) => !(n.attr as Record<string, { tensor?: { tensorContent?: string } }>).value.tensor?.tensorContent);
  expect(missing.map((n) => n.name)).toEqual([]);
  expect(nodes.some((n) => n.device)).toBe(false);
  const merges = nodes.filter((n) => n.op === 'TurboMerge');
  expect(merges).toHaveLength(12);
  // The first merge has no size input (N = 0), the later ones carry it (N = 1).
  expect(merges.map((n) => Number(n.attr!.N?.i ?? 0))).toEqual([0, ...Array(11).fill(1)]);
  expect(merges.map((n) => n.input!.length)).toEqual([3, ...Array(11).fill(4)]);
});

test('--r 0 writes a SavedModel with no Turbo op; --force replaces a SavedModel, never another directory', async () => {
  const out = path.join(tmp, 'out');
  expect((await cli(embeddedModelDir(), out, '--r', '0', '--format', 'savedmodel')).code).toBe(0);
  const ops = new Set(decode(out).metaGraphs[0].graphDef.node.map((n) => n.op));
  expect([...ops].filter((op) => op.startsWith('Turbo'))).toEqual([]);
  const again = await cli(embeddedModelDir(), out, '--r', '0', '--format', 'savedmodel');
  expect(again.code).not.toBe(0);
  expect(again.err).toContain('already exists; pass --force');
  expect((await cli(embeddedModelDir(), out, '--r', '8', '--format', 'savedmodel', '--force')).code).toBe(0);
  expect(decode(out).metaGraphs[0].graphDef.node.some((n) => n.op === 'TurboMerge')).toBe(true);
  const other = path.join(tmp, 'other');
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, 'notes.txt'), 'keep me');
  const refused = await cli(embeddedModelDir(), other, '--format', 'savedmodel', '--force');
  expect(refused.code).not.toBe(0);
  expect(refused.err.trimEnd().split('\n')).toHaveLength(1);
  expect(refused.err).toContain('--force replaces only a directory holding a SavedModel or a tfjs graph model');
  expect(fs.readFileSync(path.join(other, 'notes.txt'), 'utf8')).toBe('keep me');
  expect(fs.readdirSync(tmp).sort()).toEqual(['other', 'out']);
});

test('--format is refused with --strip and unknown formats', async () => {
  const strip = await cli(embeddedModelDir(), path.join(tmp, 'out'), '--strip', '--format', 'savedmodel');
  expect(strip.code).not.toBe(0);
  expect(strip.err).toContain("'--format <format>' cannot be used with option '--strip'");
  const onnx = await cli(embeddedModelDir(), path.join(tmp, 'out'), '--format', 'onnx');
  expect(onnx.err).toContain('Allowed choices are graph-model, savedmodel');
  expect(fs.readdirSync(tmp)).toEqual([]);
});

describe('fused ops TensorFlow cannot run are split into plain ops', () => {
  /** The node list splitFusedOps leaves of a graph holding `nodes`. */
  const split = (nodes: NodeDef[], source: string) => {
    const g = new Graph({ format: 'graph-model', modelTopology: { node: nodes }, weightsManifest: [] }, []);
    splitFusedOps(g, source);
    return g.nodes;
  };
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const fused = (op: string, fusedOps: string[], inputs: string[]): NodeDef => ({
    name: 'dense/out',
    op,
    input: inputs,
    attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: true }, fused_ops: { list: { s: fusedOps.map(b64) } }, num_args: { i: String(inputs.length - 2) } },
  });

  test('MatMul + BiasAdd stays fused (TensorFlow runs it)', () => {
    const node = fused('_FusedMatMul', ['BiasAdd'], ['x', 'w', 'b']);
    expect(split([node], 'model.json')).toEqual([node]);
  });

  test('BiasAdd + Prelu becomes MatMul, BiasAdd, Relu, Sub, Mul, AddV2; the last takes the name', () => {
    const out = split([fused('_FusedMatMul', ['BiasAdd', 'Prelu'], ['x', 'w', 'b', 'alpha'])], 'model.json');
    expect(out.map((n) => n.op)).toEqual(['MatMul', 'BiasAdd', 'Relu', 'Sub', 'Mul', 'AddV2']);
    expect(out[0].input).toEqual(['x', 'w']);
    expect(out[0].attr?.transpose_b).toEqual({ b: true });
    expect(out[0].attr?.fused_ops).toBeUndefined();
    expect(out[1].input).toEqual([out[0].name, 'b']);
    expect(out[4].input![0]).toBe('alpha');
    expect(out[5].name).toBe('dense/out');
  });

  test('an unknown fusion is a one-line error naming the node', () => {
    expect(() => split([fused('_FusedMatMul', ['BiasAdd', 'Swish'], ['x', 'w', 'b'])], 'm/model.json')).toThrow(
      "m/model.json: 'dense/out' (_FusedMatMul) fuses Swish, which the SavedModel writer cannot lower",
    );
  });
});

test('loadTurboSavedModel names a directory without saved_model.pb in one line', async () => {
  await expect(loadTurboSavedModel(tmp)).rejects.toThrow(`${path.join(tmp, 'saved_model.pb')}: not found; expected a SavedModel directory`);
});

test('--portable SavedModels use only ops every TensorFlow has: no Turbo ops, no oneDNN-only _MklLayerNorm', async () => {
  const out = path.join(tmp, 'portable');
  expect((await cli(embeddedModelDir(), out, '--format', 'savedmodel', '--portable', '--r', '8')).code).toBe(0);
  const ops = new Set(decode(out).metaGraphs[0].graphDef.node.map((n) => n.op));
  expect([...ops].filter((op) => op.startsWith('Turbo') || op === '_MklLayerNorm')).toEqual([]);
  const fused = path.join(tmp, 'fused');
  expect((await cli(embeddedModelDir(), fused, '--format', 'savedmodel', '--r', '8')).code).toBe(0);
  expect(decode(fused).metaGraphs[0].graphDef.node.some((n) => n.op === '_MklLayerNorm')).toBe(true);
});
