// The score and merge choices in converted graphs: a default conversion writes neither attribute
// nor any metadata for them (its output is what it was before they existed); --score pitome
// --merge mlerp writes them on every TurboMerge with PiToMe's per-block margin, --strip still gives
// the original bytes back; --portable lowers MLERP (checked on the recorded Turbo + MLERP cases) and
// refuses PiToMe.
import * as fsp from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { convertWithTurbo, embeddedModelDir, rewriteGraph, stripTurboModel } from '../../src/convert';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { Graph, floatAttr, intAttr } from '../../src/graph/ir';
import { graphToArtifacts, readGraphModel } from '../../src/graph/model_io';
import { OptionsError } from '../../src/errors';
import { replaceTurboOpsWithStandardOps } from '../../src/rewrite/portable_merge';
import { useBackend } from '../../src/runtime/backend';
import { BACKENDS, firstRowMismatch, loadPitomeCases } from '../ops/helpers';
import { PITOME_TOL, PitomeCase, pitomeCaseName } from '../ops/pitome_case';

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'turbo-score-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

const merges = (g: Awaited<ReturnType<typeof readGraphModel>>) => g.nodes.filter((n) => n.op === 'TurboMerge');

test('a default conversion writes no score, merge_mode or margin attribute and no score/merge metadata', async () => {
  const g = await readGraphModel(embeddedModelDir());
  rewriteGraph(g, { r: 8 });
  expect(merges(g)).toHaveLength(12);
  for (const n of merges(g)) expect(Object.keys(n.attr ?? {}).sort()).toEqual(['alpha', 'beta', 'gamma', 'layer', 'protected_tokens', 'r', 'r_threshold']);
  const meta = (g.modelJson.userDefinedMetadata as { turbo: Record<string, unknown> }).turbo;
  expect(meta).not.toHaveProperty('score');
  expect(meta).not.toHaveProperty('merge');
});

test('--score pitome --merge mlerp: codes 1 and 1 and margin 0.9 − 0.8·i/12 (float32) on every merge, in the metadata too', async () => {
  const g = await readGraphModel(embeddedModelDir());
  rewriteGraph(g, { r: [16, 16, 0, 16], score: 'pitome', merge: 'mlerp' });
  const nodes = merges(g);
  expect(nodes.map((n) => n.name)).toEqual(['turbo/block_0/merge', 'turbo/block_1/merge', 'turbo/block_3/merge']);
  // Block 3 gets block 3's margin: blocks without a merge still count.
  expect(nodes.map((n) => n.attr!.margin.f)).toEqual([0.9, 0.9 - 0.8 / 12, 0.9 - (0.8 * 3) / 12].map(Math.fround));
  for (const n of nodes) {
    expect(Number(n.attr!.score.i)).toBe(1);
    expect(Number(n.attr!.merge_mode.i)).toBe(1);
  }
  const meta = (g.modelJson.userDefinedMetadata as { turbo: Record<string, unknown> }).turbo;
  expect(meta).toMatchObject({ score: 'pitome', merge: 'mlerp' });
});

test('--score mctf: code 2 and no temperature attrs (the defaults), merged at the end of each block on the block output, weighted by received attention; strip restores the bytes', async () => {
  const g = await readGraphModel(embeddedModelDir());
  rewriteGraph(g, { r: 8, score: 'mctf' });
  const nodes = merges(g);
  expect(nodes).toHaveLength(12);
  nodes.forEach((n, i) => {
    expect(Object.keys(n.attr!).sort()).toEqual(['alpha', 'beta', 'gamma', 'layer', 'protected_tokens', 'r', 'r_threshold', 'score']);
    expect(Number(n.attr!.score.i)).toBe(2);
    // x and metric are the same tensor (the block output); then the received attention, then size from the second merge on.
    expect(n.input![0]).toBe(n.input![1]);
    expect(n.input![2]).toBe(`turbo/block_${i}/received_attention`);
    expect(n.input!.length).toBe(i === 0 ? 3 : 4);
  });
  const received = g.nodes.find((n) => n.name === 'turbo/block_0/received_attention')!;
  expect(received.op).toBe('Mean');
  const turbo = path.join(tmp, 'mctf');
  const stripped = path.join(tmp, 'mctf-stripped');
  await convertWithTurbo(embeddedModelDir(), turbo, { r: 8, score: 'mctf' });
  await stripTurboModel(turbo, stripped);
  for (const f of (await fsp.readdir(embeddedModelDir())).filter((x) => x === 'model.json' || x.endsWith('.bin'))) {
    const [a, b] = await Promise.all([fsp.readFile(path.join(embeddedModelDir(), f)), fsp.readFile(path.join(stripped, f))]);
    expect({ f, same: a.equals(b) }).toEqual({ f, same: true });
  }
});

test('--score turbo --merge mlerp writes merge_mode only', async () => {
  const g = await readGraphModel(embeddedModelDir());
  rewriteGraph(g, { r: 4, merge: 'mlerp' });
  for (const n of merges(g)) {
    expect(n.attr).not.toHaveProperty('score');
    expect(n.attr).not.toHaveProperty('margin');
    expect(Number(n.attr!.merge_mode.i)).toBe(1);
  }
});

test('strip(convert(m, pitome, mlerp)) has the bytes of m', async () => {
  const dir = embeddedModelDir();
  const turbo = path.join(tmp, 'turbo');
  const stripped = path.join(tmp, 'stripped');
  await convertWithTurbo(dir, turbo, { r: 8, score: 'pitome', merge: 'mlerp' });
  await stripTurboModel(turbo, stripped);
  for (const f of (await fsp.readdir(dir)).filter((x) => x === 'model.json' || x.endsWith('.bin'))) {
    const [a, b] = await Promise.all([fsp.readFile(path.join(dir, f)), fsp.readFile(path.join(stripped, f))]);
    expect({ f, same: a.equals(b) }).toEqual({ f, same: true });
  }
});

test('--portable refuses the PiToMe and MCTF scores, naming them', async () => {
  const g = await readGraphModel(embeddedModelDir());
  expect(() => rewriteGraph(g, { r: 8, score: 'pitome', merge: 'mlerp', portable: true })).toThrow(OptionsError);
  const g2 = await readGraphModel(embeddedModelDir());
  expect(() => rewriteGraph(g2, { r: 8, score: 'pitome', portable: true })).toThrow('portable: has no standard-op form of --score pitome');
  const g3 = await readGraphModel(embeddedModelDir());
  expect(() => rewriteGraph(g3, { r: 8, score: 'mctf', portable: true })).toThrow('portable: has no standard-op form of --score mctf');
});

/** One TurboMerge (Turbo score, MLERP) on placeholders, replaced by standard ops. */
function loweredMlerpGraph(c: PitomeCase): Graph {
  const g = new Graph({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }, []);
  const ph = (name: string) => g.addNode({ name, op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' } } }).name;
  const attr = { r: intAttr(c.r), alpha: floatAttr(c.alpha!), beta: floatAttr(1), gamma: floatAttr(0), layer: intAttr(0), protected_tokens: intAttr(c.classToken ? 1 : 0), r_threshold: intAttr(0), merge_mode: intAttr(1) };
  g.addNode({ name: 'merge', op: 'TurboMerge', input: [ph('x'), ph('metric'), ph('cls'), ...(c.size ? [ph('size')] : [])], attr });
  g.addNode({ name: 'x_out', op: 'Identity', input: ['merge'], attr: { T: { type: 'DT_FLOAT' } } });
  g.addNode({ name: 'size_out', op: 'Identity', input: ['merge:1'], attr: { T: { type: 'DT_FLOAT' } } });
  expect(replaceTurboOpsWithStandardOps(g, new Map([['merge', c.N]])).merges).toBe(1);
  g.topoSort();
  return g;
}

const MLERP_CASES = loadPitomeCases().filter((c) => c.score === 'turbo' && c.merge === 'mlerp');

describe.each(BACKENDS)('--portable MLERP on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  test.each(MLERP_CASES.map((c, i) => [pitomeCaseName(c, i), c] as const))('recorded Turbo + MLERP case %s, no Turbo op left', async (_name, c) => {
    expect(MLERP_CASES.length).toBeGreaterThanOrEqual(4);
    const g = loweredMlerpGraph(c);
    expect(g.nodes.filter((n) => n.op.startsWith('Turbo'))).toEqual([]);
    const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(g)));
    const feeds: tf.NamedTensorMap = { x: tf.tensor3d(c.x), metric: tf.tensor3d(c.metric), cls: tf.tensor2d(c.attnCls!) };
    if (c.size) feeds.size = tf.tensor2d(c.size);
    const [x, size] = model.execute(feeds, ['x_out', 'size_out']) as tf.Tensor[];
    expect(firstRowMismatch(x.arraySync() as number[][][], c.expectedX, PITOME_TOL)).toBeNull();
    expect(size.arraySync()).toEqual(c.expectedSize);
    tf.dispose([x, size, ...Object.values(feeds)]);
    model.dispose();
  });
});

test('an unknown score is refused by the options check', async () => {
  const g = await readGraphModel(embeddedModelDir());
  expect(() => rewriteGraph(g, { r: 8, score: 'tome' as never })).toThrow('"tome" is not one of turbo, pitome, mctf');
});
