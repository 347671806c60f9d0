// applyTurbo is collect, apply, cleanup: after the rewrite nothing is left that no output needs
// (replaced Reshape targets, a replaced mean pool, constants no merge used), and --strip, which
// puts those back from the undo record, is still the exact inverse: the same nodes, the weights
// in the same order byte for byte, the signature and the metadata.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir, rewriteGraph } from '../../src/convert';
import { Graph } from '../../src/graph/ir';
import { readGraphModel, writeGraphModel } from '../../src/graph/model_io';
import { TurboUndo } from '../../src/rewrite/pass';
import { stripTurbo } from '../../src/rewrite/strip';
import { HF_FIXTURES } from '../hf/hf_fixture';

const MODELS = [...['vit-small', 'deit-small', 'clip-small', 'blip-small'].map((f) => path.join(HF_FIXTURES, f)), embeddedModelDir()];

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-cleanup-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Nodes no signature output needs. */
function unused(g: Graph): string[] {
  const live = g.liveNodes(g.outputNames());
  return g.nodes.filter((n) => !live.has(n.name) && n.op !== 'Placeholder').map((n) => n.name);
}

function expectSameModel(a: Graph, b: Graph): void {
  const byName = (g: Graph) => Object.fromEntries(g.nodes.map((n) => [n.name, n]));
  expect(byName(b)).toEqual(byName(a));
  expect([...b.weights.keys()]).toEqual([...a.weights.keys()]);
  for (const [name, w] of a.weights) {
    expect(b.weights.get(name)!.spec).toEqual(w.spec);
    expect(Buffer.from(b.weights.get(name)!.bytes).equals(Buffer.from(w.bytes))).toBe(true);
  }
  expect(b.modelJson.signature).toEqual(a.modelJson.signature);
  expect(b.modelJson.userDefinedMetadata).toEqual(a.modelJson.userDefinedMetadata);
}

describe.each(MODELS)('%s', (dir) => {
  test.each([
    ['r = 4', { r: 4, alpha: 5 }],
    ['r = 0', { r: 0 }],
    ['r = 4 --portable', { r: 4, alpha: 5, portable: true }],
  ])('%s: nothing unused is left; strip through disk restores it exactly', async (_name, options) => {
    const original = await readGraphModel(dir);
    const deadBefore = unused(original);
    const g = await readGraphModel(dir);
    rewriteGraph(g, options);
    expect(unused(g)).toEqual(deadBefore);
    // Every weight belongs to a Const node that is still there.
    const consts = new Set(g.nodes.filter((n) => n.op === 'Const').map((n) => n.name));
    expect([...g.weights.keys()].filter((w) => !consts.has(w))).toEqual([]);

    const undo = (g.modelJson.userDefinedMetadata!.turbo as { undo: TurboUndo }).undo;
    for (const { node } of undo.removed!) {
      expect(original.has(node.name)).toBe(true);
      expect(g.has(node.name)).toBe(false);
    }
    // Our converter bakes the token count into constant Reshape targets, replaced by dynamic ones.
    if (dir === embeddedModelDir()) expect(undo.removed!.filter((e) => e.weight).length).toBeGreaterThan(0);

    const out = fs.mkdtempSync(path.join(tmp, 'm-'));
    await writeGraphModel(g, path.join(out, 'turbo'));
    const back = await readGraphModel(path.join(out, 'turbo'));
    stripTurbo(back, 'model.json');
    expectSameModel(original, back);
  });
});

test('an undo record whose restored node clashes with a node in the graph is refused', async () => {
  const g = await readGraphModel(embeddedModelDir());
  rewriteGraph(g, { r: 4 });
  const undo = (g.modelJson.userDefinedMetadata!.turbo as { undo: TurboUndo }).undo;
  undo.removed![0].node = { ...undo.removed![0].node, name: g.nodes[0].name };
  expect(() => stripTurbo(g, 'm/model.json')).toThrow(/^m\/model\.json: the Turbo undo record restores node/);
});
