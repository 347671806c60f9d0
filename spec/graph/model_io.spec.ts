// model.json + shards IO: byte-identical round trips, 4 MiB sharding, dequantization, bad input.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { TurboInputError } from '../../src/errors';
import { Graph, decodeWeight } from '../../src/graph/ir';
import { graphToArtifacts, pythonFloat, readGraphModel, stringify, writeGraphModel } from '../../src/graph/model_io';
import { FIXTURES } from '../helpers/parity';

const HF_VIT_SMALL = path.join(FIXTURES, 'hf', 'vit-small');

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-io-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function expectSameFiles(a: string, b: string) {
  const files = fs.readdirSync(a).sort();
  expect(fs.readdirSync(b).sort()).toEqual(files);
  for (const f of files) expect(fs.readFileSync(path.join(b, f)).equals(fs.readFileSync(path.join(a, f)))).toBe(true);
}

function bigGraph(): Graph {
  const g = new Graph({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }, []);
  g.addNode({ name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' } } });
  // 5 MiB + a bit, so the writer must cut two shards with a weight spanning the boundary.
  const n = 1024 * 1300;
  g.addConst('w', 'float32', [n], Float32Array.from({ length: n }, (_, i) => i % 251));
  g.addConst('v', 'int32', [3], [7, -8, 9]);
  return g;
}

test('our writer: 4 MiB shards, then read + write is byte-identical', async () => {
  const a = path.join(tmp, 'a');
  const b = path.join(tmp, 'b');
  await writeGraphModel(bigGraph(), a);
  expect(fs.readdirSync(a).sort()).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin', 'model.json']);
  expect(fs.statSync(path.join(a, 'group1-shard1of2.bin')).size).toBe(4 * 1024 * 1024);
  const g = await readGraphModel(a);
  expect(Array.from(decodeWeight(g.weights.get('v')!))).toEqual([7, -8, 9]);
  await writeGraphModel(g, b);
  expectSameFiles(a, b);
});

test('real tensorflowjs_converter output (Python json.dump style) round-trips byte for byte', async () => {
  const out = path.join(tmp, 'out');
  await writeGraphModel(await readGraphModel(HF_VIT_SMALL), out);
  for (const f of fs.readdirSync(out)) {
    expect(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(HF_VIT_SMALL, f)))).toBe(true);
  }
});

test('a modified Python-style model.json keeps its style', async () => {
  const g = await readGraphModel(HF_VIT_SMALL);
  g.modelJson.userDefinedMetadata = { note: 'x' };
  const out = path.join(tmp, 'out');
  await writeGraphModel(g, out);
  const text = fs.readFileSync(path.join(out, 'model.json'), 'utf8');
  expect(text.startsWith('{"format": "graph-model", ')).toBe(true);
  expect(JSON.parse(text).userDefinedMetadata).toEqual({ note: 'x' });
});

test('quantized weights are dequantized the way tfjs does', () => {
  const u8 = decodeWeight({
    spec: { name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
    bytes: Uint8Array.from([0, 1, 255]),
  });
  expect(Array.from(u8)).toEqual([-1, -0.5, 126.5]); // v * scale + min
  const u16 = decodeWeight({
    spec: { name: 'q', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 2 } },
    bytes: new Uint8Array(Uint16Array.from([4, 1000]).buffer),
  });
  expect(Array.from(u16)).toEqual([3, 252]);
  // IEEE half: 0x3c00 = 1, 0xc000 = -2, 0x3555 ≈ 0.333251953125, 0x0001 = 2^-24 (subnormal)
  const f16 = decodeWeight({
    spec: { name: 'q', shape: [4], dtype: 'float32', quantization: { dtype: 'float16' } },
    bytes: new Uint8Array(Uint16Array.from([0x3c00, 0xc000, 0x3555, 0x0001]).buffer),
  });
  expect(Array.from(f16)).toEqual([1, -2, 0.333251953125, 2 ** -24]);
});

test('a Graph loads and runs in tfjs from memory', async () => {
  await tf.setBackend('cpu');
  const g = new Graph({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }, []);
  g.addNode({ name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' } } });
  g.addConst('w', 'float32', [2, 2], [1, 2, 3, 4]);
  g.addNode({ name: 'y', op: 'MatMul', input: ['x', 'w'], attr: { T: { type: 'DT_FLOAT' } } });
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(g)));
  const y = model.execute({ x: tf.tensor2d([[1, 1]]) }, 'y') as tf.Tensor;
  expect(Array.from(await y.data())).toEqual([4, 6]);
});

describe('bad input: one-line error naming the file', () => {
  async function expectError(dir: string, file: string, problem: string) {
    const err = await readGraphModel(dir).then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(TurboInputError);
    expect(err.message).toContain(file);
    expect(err.message).toContain(problem);
    expect(err.message.split('\n')).toHaveLength(1);
  }
  const copy = () => {
    const d = path.join(tmp, 'm');
    fs.cpSync(HF_VIT_SMALL, d, { recursive: true });
    return d;
  };

  test('missing model.json', () => expectError(tmp, path.join(tmp, 'model.json'), 'not found'));
  test('malformed model.json', () => {
    const d = copy();
    fs.writeFileSync(path.join(d, 'model.json'), '{"format": ');
    return expectError(d, path.join(d, 'model.json'), 'not valid JSON');
  });
  test('model.json over its bound (a sparse 300 MiB file): refused on its size, never parsed', () => {
    const d = copy();
    fs.truncateSync(path.join(d, 'model.json'), 300 * 1024 * 1024);
    return expectError(d, path.join(d, 'model.json'), `is ${300 * 1024 * 1024} bytes, over the ${256 * 1024 * 1024}-byte limit for model.json`);
  });
  test('model.json linked to a secret outside: the JSON error never quotes it', async () => {
    const d = copy();
    const secret = path.join(tmp, 'secret.txt');
    fs.writeFileSync(secret, 'root:x:0:0:TOPSECRET\n');
    fs.rmSync(path.join(d, 'model.json'));
    fs.symlinkSync(secret, path.join(d, 'model.json'));
    const err = await readGraphModel(d).then(() => undefined, (e: Error) => e);
    expect(err?.message).toBe(`${path.join(d, 'model.json')}: not valid JSON (not a JSON document)`);
  });
  test('not a graph model', () => {
    const d = copy();
    fs.writeFileSync(path.join(d, 'model.json'), '{"format": "layers-model", "modelTopology": {}}');
    return expectError(d, path.join(d, 'model.json'), 'layers-model');
  });
  test('missing shard', () => {
    const d = copy();
    fs.rmSync(path.join(d, 'group1-shard1of1.bin'));
    return expectError(d, path.join(d, 'group1-shard1of1.bin'), 'not found');
  });
  test('truncated shard', () => {
    const d = copy();
    fs.truncateSync(path.join(d, 'group1-shard1of1.bin'), 1000);
    return expectError(d, path.join(d, 'group1-shard1of1.bin'), 'truncated');
  });
});

test('an interrupted write leaves neither the output nor a temporary directory', async () => {
  const out = path.join(tmp, 'out');
  await expect(
    writeGraphModel(bigGraph(), out, {
      onProgress: (done) => {
        if (done > 0) throw new Error('interrupted');
      },
    }),
  ).rejects.toThrow('interrupted');
  expect(fs.readdirSync(tmp)).toEqual([]);
});

test("python-style model.json writes floats as Python's repr does (values and strings from Python 3.11)", () => {
  const cases: [number, string][] = [
    [0, '0.0'], [1, '1.0'], [-1, '-1.0'], [100, '100.0'], [-0, '-0.0'], [0.2, '0.2'], [1e-5, '1e-05'], [1e-4, '0.0001'],
    [0.0001234, '0.0001234'], [1e16, '1e+16'], [1.5e16, '1.5e+16'], [123456789012345.6, '123456789012345.6'],
    [9.999999747378752e-6, '9.999999747378752e-06'], [3.4028234663852886e38, '3.4028234663852886e+38'], [0.1 + 0.2, '0.30000000000000004'], [1e-12, '1e-12'],
  ];
  for (const [x, py] of cases) expect([x, pythonFloat(x)]).toEqual([x, py]);
  // Only float-valued keys: ints such as shapes and "i" attributes stay as they are.
  expect(stringify({ attr: { epsilon: { f: 0 }, axis: { i: '1' }, l: { list: { f: [1, 0.5] } } }, shape: [1, 2] }, 'python')).toBe(
    '{"attr": {"epsilon": {"f": 0.0}, "axis": {"i": "1"}, "l": {"list": {"f": [1.0, 0.5]}}}, "shape": [1, 2]}',
  );
});
