// The findings of the fuzz run against convert-with-turbo (issue 15), one test each: hostile shard
// paths, --force on things that are not model directories, symlinks between input and output,
// racing conversions, errors that must name the input, corrupt manifests, strict options,
// re-conversion and --strip, and run-time misuse of a Turbo model.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { buildProgram } from '../../src/cli/convert-with-turbo';
import { runCliInProcess } from '../helpers/cli';
import { convertWithTurbo } from '../../src/convert';
import { graphToArtifacts, readGraphModel, writeGraphModel } from '../../src/graph/model_io';
import { registerTurboOps } from '../../src/ops/register';
import { loadTurboModel } from '../../src/runtime/load';
import { HF_FIXTURES } from '../hf/hf_fixture';
import { dirHash } from '../helpers/dir_hash';

const M = path.join(HF_FIXTURES, 'vit-small');
const SHARD = 'group1-shard1of1.bin';
const HANG_MS = 15000;

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-hostile-'));
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCliInProcess(buildProgram(), args, HANG_MS);

function expectRefused(r: { code: number; err: string }, ...parts: string[]) {
  expect(r.code).not.toBe(0);
  const lines = r.err.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(r.err).not.toMatch(/\n\s+at |internal error/);
  for (const p of parts) expect(r.err).toContain(p);
}

function copyModel(name = 'in'): string {
  const d = path.join(tmp, name);
  fs.cpSync(M, d, { recursive: true });
  return d;
}

function editJson(dir: string, edit: (j: any) => void): void {
  const file = path.join(dir, 'model.json');
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(j);
  fs.writeFileSync(file, JSON.stringify(j));
}

const mkfifo = (p: string) => execFileSync('mkfifo', [p]);
const out = () => path.join(tmp, 'out');
const noOutput = () => expect(fs.readdirSync(tmp).filter((f) => f === 'out' || f.startsWith('out.'))).toEqual([]);

describe('1. devices and FIFOs are never read', () => {
  test('a shard path climbing to /dev/zero', async () => {
    const m = copyModel();
    editJson(m, (j) => (j.weightsManifest[0].paths = ['../../../../../../../dev/zero']));
    expectRefused(await cli(m, out()), 'model.json', "'..'");
    noOutput();
  });
  test('a shard that is a symlink to /dev/zero', async () => {
    const m = copyModel();
    fs.rmSync(path.join(m, SHARD));
    fs.symlinkSync('/dev/zero', path.join(m, SHARD));
    expectRefused(await cli(m, out()), SHARD, 'leaves its directory');
    noOutput();
  });
  test('a shard that is a FIFO', async () => {
    const m = copyModel();
    fs.rmSync(path.join(m, SHARD));
    mkfifo(path.join(m, SHARD));
    expectRefused(await cli(m, out()), SHARD, 'FIFO');
    noOutput();
  });
  test('a model.json that is a FIFO', async () => {
    const m = copyModel();
    fs.rmSync(path.join(m, 'model.json'));
    mkfifo(path.join(m, 'model.json'));
    expectRefused(await cli(m, out()), 'model.json', 'FIFO');
    noOutput();
  });
  test('reads stop where the weights end: a shard padded with 64 MiB converts, without the padding', async () => {
    const m = copyModel();
    const size = fs.statSync(path.join(m, SHARD)).size;
    fs.truncateSync(path.join(m, SHARD), size + 64 * 1024 * 1024);
    expect((await cli(m, out(), '--r', '2')).code).toBe(0);
    const written = fs.readdirSync(out()).filter((f) => f.endsWith('.bin'));
    const total = written.reduce((s, f) => s + fs.statSync(path.join(out(), f)).size, 0);
    expect(total).toBeLessThan(size + 4096); // the original weights plus a few Turbo constants
  });
});

describe('2. shard paths stay inside the model directory', () => {
  test.each([
    ['a parent path', '../outside.bin', "'..'"],
    ['an absolute path', '/proc/self/environ', 'absolute'],
  ])('%s', async (_, shardPath, problem) => {
    const m = copyModel();
    fs.copyFileSync(path.join(m, SHARD), path.join(tmp, 'outside.bin'));
    editJson(m, (j) => (j.weightsManifest[0].paths = [shardPath]));
    const r = await cli(m, out());
    expectRefused(r, 'model.json', problem);
    expect(r.err).not.toMatch(/\d+ bytes/); // nothing about the target leaks
    noOutput();
  });
  test('a shard symlinked to a file outside', async () => {
    const m = copyModel();
    fs.renameSync(path.join(m, SHARD), path.join(tmp, 'outside.bin'));
    fs.symlinkSync(path.join(tmp, 'outside.bin'), path.join(m, SHARD));
    expectRefused(await cli(m, out()), SHARD, 'leaves its directory');
    noOutput();
  });
  test('a symlink that stays inside is fine', async () => {
    const m = copyModel();
    fs.renameSync(path.join(m, SHARD), path.join(m, 'real.bin'));
    fs.symlinkSync('real.bin', path.join(m, SHARD));
    expect((await cli(m, out(), '--r', '2')).code).toBe(0);
  });
});

describe('3. --force replaces only a model directory', () => {
  const targets: [string, (p: string) => void, string][] = [
    ['a regular file', (p) => fs.writeFileSync(p, 'precious'), 'is a file'],
    ['a FIFO', (p) => mkfifo(p), 'is a FIFO'],
    ['a symlink to a directory', (p) => (fs.mkdirSync(`${p}-target`), fs.symlinkSync(`${p}-target`, p)), 'is a symlink'],
    ['a directory of other files', (p) => (fs.mkdirSync(p), fs.writeFileSync(path.join(p, 'notes.txt'), 'mine')), "holds no model.json"],
    [
      'a model directory with something else in it',
      (p) => {
        fs.mkdirSync(p);
        for (const f of ['model.json', SHARD]) fs.copyFileSync(path.join(M, f), path.join(p, f));
        fs.mkdirSync(path.join(p, 'src'));
      },
      "holds 'src'",
    ],
  ];
  test.each(targets)('%s', async (_, make, problem) => {
    const target = path.join(tmp, 'target');
    make(target);
    const before = fs.lstatSync(target);
    expectRefused(await cli(M, target, '--force'), target, problem);
    const after = fs.lstatSync(target);
    expect([after.ino, after.mode]).toEqual([before.ino, before.mode]);
  });
  test('a character device (needs root to create one)', async () => {
    const dev = path.join(tmp, 'd');
    let made = true;
    try {
      execFileSync('mknod', [dev, 'c', '1', '3'], { stdio: 'ignore' });
    } catch {
      made = false; // not root: the FIFO case above covers the same check
    }
    if (made) {
      expectRefused(await cli(M, dev, '--force'), dev, 'is a device');
      expect(fs.lstatSync(dev).isCharacterDevice()).toBe(true);
    }
    expect(made || process.getuid?.() !== 0).toBe(true);
  });
  test('a previous conversion is replaced', async () => {
    expect((await cli(M, out(), '--r', '2')).code).toBe(0);
    expect((await cli(M, out(), '--r', '3', '--force')).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(out(), 'model.json'), 'utf8')).userDefinedMetadata.turbo.r).toBe(3);
  });
});

describe('4. input and output are compared by real path', () => {
  test('OUT_DIR is the input reached through a symlink', async () => {
    const m = copyModel();
    const link = path.join(tmp, 'link');
    fs.symlinkSync(m, link);
    const before = dirHash(m);
    expectRefused(await cli(link, m, '--force'), 'input');
    expectRefused(await cli(m, link, '--force'), 'input');
    expect(dirHash(m)).toBe(before);
  });
  test("OUT_DIR's parent is a symlink into the input", async () => {
    const m = copyModel();
    fs.symlinkSync(m, path.join(tmp, 'into'));
    const before = dirHash(m);
    expectRefused(await cli(m, path.join(tmp, 'into', 'sub', 'out')), 'inside the input');
    expect(dirHash(m)).toBe(before);
    expect(fs.readdirSync(m).sort()).toEqual(fs.readdirSync(M).sort());
  });
});

test('5. of two conversions racing for one OUT_DIR, exactly one succeeds', async () => {
  for (let round = 0; round < 5; round++) {
    const target = path.join(tmp, `race${round}`);
    const codes = await Promise.all([
      convertWithTurbo(M, target, { r: 2 }).then(() => 0, () => 1),
      convertWithTurbo(M, target, { r: 3 }).then(() => 0, () => 1),
    ]);
    expect(codes.sort()).toEqual([0, 1]);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith(`race${round}.`))).toEqual([]); // no temporaries left
  }
});

describe('6. errors name the input and say what is wrong', () => {
  test.each<[string, (j: any) => void, string]>([
    ['a dangling input', (j) => j.modelTopology.node.at(-1).input.push('nowhere'), "reads 'nowhere', which no node produces"],
    ['a duplicate node name', (j) => j.modelTopology.node.push({ ...j.modelTopology.node[0] }), 'two nodes are named'],
    [
      'a cycle',
      (j) => {
        const nodes = j.modelTopology.node;
        const a = nodes.find((n: any) => n.op === 'Softmax');
        const b = nodes.find((n: any) => (n.input ?? []).includes(a.name));
        a.input[0] = b.name;
      },
      'cycle',
    ],
    ['inputs that are not a list', (j) => (j.modelTopology.node.at(-1).input = 'x'), 'not a list of tensor names'],
    ['a non-string input', (j) => (j.modelTopology.node.at(-1).input = [7]), 'not a list of tensor names'],
    ['a null node', (j) => j.modelTopology.node.push(null), 'is not an object'],
    ['a null signature output', (j) => (j.signature.outputs.logits = null), 'signature.outputs.logits'],
  ])('%s', async (_, edit, problem) => {
    const m = copyModel();
    editJson(m, edit);
    expectRefused(await cli(m, out()), path.join(m, 'model.json'), problem);
    noOutput();
  });
  test('JSON nested 10,000 deep', async () => {
    const m = copyModel();
    const text = fs.readFileSync(path.join(m, 'model.json'), 'utf8');
    fs.writeFileSync(path.join(m, 'model.json'), `${text.slice(0, -1)}, "deep": ${'['.repeat(10000)}${']'.repeat(10000)}}`);
    expectRefused(await cli(m, out()), 'model.json', 'nested');
  });
  test('an OUT_DIR that cannot be created names OUT_DIR, not a temporary path', async () => {
    fs.writeFileSync(path.join(tmp, 'file'), '');
    const target = path.join(tmp, 'file', 'out');
    const r = await cli(M, target);
    expectRefused(r, target);
    expect(r.err).not.toContain('.tmp-');
  });
  test('a short middle shard is blamed, not the last one', async () => {
    const m = path.join(tmp, 'sharded');
    const g = await readGraphModel(M);
    g.weightsChanged = true; // re-shard instead of keeping the fixture's single shard
    await writeGraphModel(g, m, { shardBytes: 100_000 });
    const shards = fs.readdirSync(m).filter((f) => f.endsWith('.bin')).sort();
    expect(shards.length).toBeGreaterThan(3);
    const middle = shards[1];
    fs.truncateSync(path.join(m, middle), 50_000);
    expectRefused(await cli(m, out()), middle, 'truncated');
  });
});

describe('7. corrupt models and options are refused', () => {
  const weights = (j: any) => j.weightsManifest[0].weights;
  test.each<[string, (j: any) => void, string]>([
    ['a renamed manifest entry', (j) => (weights(j)[3].name += '_renamed'), 'has no weight in weightsManifest'],
    [
      // Whole entries swapped with their names stay self-consistent and only shift the bytes: no
      // reader can tell (tfjs cannot either). Names moved between entries are caught.
      'two manifest entries reordered under their names',
      (j) => {
        const w = weights(j);
        const i = w.findIndex((x: any) => x.shape.length === 2);
        const k = w.findIndex((x: any) => x.shape.length === 1 && x.dtype === 'float32');
        [w[i].name, w[k].name] = [w[k].name, w[i].name];
      },
      'but its Const node says',
    ],
    ['a shape-swapped entry', (j) => weights(j).find((x: any) => x.shape.length === 2).shape.reverse(), 'but its Const node says'],
    ['a wrong dtype', (j) => (weights(j).find((x: any) => x.dtype === 'float32').dtype = 'int32'), 'dtype int32 but its Const node says DT_FLOAT'],
    ['an unknown dtype', (j) => (weights(j)[0].dtype = 'float64'), 'float64'],
    ['a bad quantization', (j) => (weights(j)[0].quantization = { dtype: 'uint8' }), "without a finite 'scale'"],
    ['a negative dimension', (j) => (weights(j)[0].shape = [-3]), 'non-negative integers'],
  ])('%s', async (_, edit, problem) => {
    const m = copyModel();
    editJson(m, edit);
    expectRefused(await cli(m, out()), path.join(m, 'model.json'), problem);
    noOutput();
  });
  test.each([
    [['--r', '1e9'], '--r'],
    [['--r', '0x10'], '--r'],
    [['--r', '2e-400'], '--r'],
    [['--r', 'Infinity'], '--r'],
    [['--r', '100000'], 'more than'],
    [['--r', '500'], "more than the model's 65 tokens"],
    [['--alpha', '1e3'], '--alpha'],
    [['--alpha', '-1'], '--alpha'],
    [['--r-threshold', '2.5'], '--r-threshold'],
    [['--r', '5', '--r-list', '1,2'], 'cannot be used with'],
  ])('option %j', async (args, named) => {
    expectRefused(await cli(M, out(), ...args), named);
    noOutput();
  });
  test('IN_DIR must be a directory', async () => {
    expectRefused(await cli(path.join(M, 'meta.json'), out()), 'meta.json', 'not a directory');
    noOutput();
  });
});

describe('8. Turbo models: refused for re-conversion, restored by --strip', () => {
  test('re-converting says what the model already is', async () => {
    expect((await cli(M, out(), '--r', '3', '--alpha', '2')).code).toBe(0);
    expectRefused(await cli(out(), path.join(tmp, 'again')), 'already converted with Turbo (r=3, alpha=2)', '--strip');
    expectRefused(await cli(out(), path.join(tmp, 'again'), '--r', '0'), 'already converted with Turbo');
  });
  test('--strip refuses Turbo options and non-Turbo models', async () => {
    expectRefused(await cli(M, path.join(tmp, 'stripped'), '--strip'), 'not a Turbo model');
    expectRefused(await cli(M, path.join(tmp, 'stripped'), '--strip', '--r', '4'), 'cannot be used with');
  });
  test('strip(convert(m)) is m: the same nodes, weights and signature, and the same logits', async () => {
    const turbo = out();
    const stripped = path.join(tmp, 'stripped');
    expect((await cli(M, turbo, '--r', '4', '--alpha', '5')).code).toBe(0);
    expect((await cli(turbo, stripped, '--strip')).code).toBe(0);
    const [a, b] = await Promise.all([readGraphModel(M), readGraphModel(stripped)]);
    const byName = (g: typeof a) => Object.fromEntries(g.nodes.map((n) => [n.name, n]));
    expect(byName(b)).toEqual(byName(a));
    expect(b.modelJson.signature).toEqual(a.modelJson.signature);
    expect(b.modelJson.userDefinedMetadata).toEqual(a.modelJson.userDefinedMetadata);
    expect([...b.weights.keys()].sort()).toEqual([...a.weights.keys()].sort());
    for (const [name, w] of a.weights) expect(Buffer.from(b.weights.get(name)!.bytes).equals(Buffer.from(w.bytes))).toBe(true);

    await tf.setBackend('cpu');
    const x = tf.randomUniform([2, 3, 64, 64], -1, 1, 'float32', 7);
    const run = async (g: typeof a) => {
      const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(g)));
      return (model.execute({ pixel_values: x }) as tf.Tensor).dataSync();
    };
    expect(Array.from(await run(b))).toEqual(Array.from(await run(a)));
  });
});

describe('9. run-time misuse of a Turbo model', () => {
  beforeAll(() => registerTurboOps());
  test.each(['cpu', 'wasm'])('batch 0 on %s', async (backend) => {
    await tf.setBackend(backend);
    expect((await cli(M, out(), '--r', '2')).code).toBe(0);
    const model = await loadTurboModel(out());
    expect(() => model.execute({ pixel_values: tf.zeros([0, 3, 64, 64]) })).toThrow(/batch size 0/);
    expect(() => model.predict(tf.zeros([0, 3, 64, 64]))).toThrow(/batch size 0/);
  });
  test.each([
    ['1000', /r = 1000, outside \[0, 65\]/],
    ['100000000000000000000', /outside \[0, 65\]/],
  ])('TurboMerge r = %s in an edited model', async (r, problem) => {
    expect((await cli(M, out(), '--r', '2')).code).toBe(0);
    editJson(out(), (j) => (j.modelTopology.node.find((n: any) => n.op === 'TurboMerge').attr.r.i = r));
    await expect(loadTurboModel(out())).rejects.toThrow(problem);
  });
  test.each([
    ['1000', /TurboMerge node '[^']+' has protected_tokens = 1000, outside \[0, 63\] for this 65-token model/],
    ['65', /protected_tokens = 65, outside \[0, 63\]/],
  ])('TurboMerge protected_tokens = %s in an edited model: refused at load, naming model.json and the node', async (p, problem) => {
    expect((await cli(M, out(), '--r', '2')).code).toBe(0);
    editJson(out(), (j) => (j.modelTopology.node.find((n: any) => n.op === 'TurboMerge').attr.protected_tokens.i = p));
    await expect(loadTurboModel(out())).rejects.toThrow(path.join(out(), 'model.json'));
    await expect(loadTurboModel(out())).rejects.toThrow(problem);
  });
  test('the op refuses more protected tokens than x has, naming the option and the token count', async () => {
    await tf.setBackend('cpu');
    const { turboMerge } = await import('../../src/ops/turbo_merge');
    const x = tf.zeros([1, 5, 2]);
    expect(() => turboMerge(x, x, tf.zeros([1, 5]), null, { r: 2, protectedTokens: 7 })).toThrow('turboMerge: protectedTokens = 7 is more than the 5 tokens of x');
  });
  test('the op itself refuses an out-of-range r', async () => {
    await tf.setBackend('cpu');
    const { turboMerge } = await import('../../src/ops/turbo_merge');
    const x = tf.zeros([1, 5, 2]);
    expect(() => turboMerge(x, x, tf.zeros([1, 5]), null, { r: 1e20 })).toThrow(/r = 100000000000000000000 is out of range/);
  });
});
