// The graph IR: references, consumers, rewiring, the edit journal behind --strip, ordering, pruning.
import { Graph, formatRef, parseRef } from '../../src/graph/ir';
import { movedNodes, originalOrder } from '../../src/graph/journal';
import { NodeDef } from '../../src/graph/types';

function graph(nodes: [string, string, string[]?][]): Graph {
  const g = new Graph({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }, []);
  for (const [name, op, input] of nodes) g.addNode({ name, op, ...(input ? { input } : {}) } as NodeDef);
  return g;
}

test('tensor references', () => {
  expect(parseRef('a/b')).toEqual({ node: 'a/b', output: 0, control: false });
  expect(parseRef('a/b:2')).toEqual({ node: 'a/b', output: 2, control: false });
  expect(parseRef('^c')).toEqual({ node: 'c', output: 0, control: true });
  expect(formatRef('m', 0)).toBe('m');
  expect(formatRef('m', 1)).toBe('m:1');
});

test('consumers, replaceAllUses with exceptions, dangling inputs', () => {
  const g = graph([
    ['x', 'Placeholder'],
    ['a', 'Relu', ['x']],
    ['b', 'AddV2', ['x', 'a', '^x']],
    ['c', 'Identity', ['x:1']],
  ]);
  expect(g.consumers('x').map((c) => [c.node.name, c.inputIndex])).toEqual([['a', 0], ['b', 0], ['c', 0]]);
  g.addNode({ name: 'y', op: 'Identity', input: ['x'] });
  expect(g.replaceAllUses('x', 'y', new Set(['y']))).toBe(2); // a and b; c reads x:1, ^x is a control input
  expect(g.node('b').input).toEqual(['y', 'a', '^x']);
  expect(g.node('c').input).toEqual(['x:1']);
  expect(g.danglingInputs()).toEqual([]);
  g.addNode({ name: 'd', op: 'Identity', input: ['nowhere'] });
  expect(g.danglingInputs()).toEqual(['d <- nowhere']);
});

test('the journal records additions and the first original input of every rewired slot', () => {
  const g = graph([
    ['x', 'Placeholder'],
    ['a', 'Relu', ['x']],
  ]);
  const j = g.startJournal();
  g.addNode({ name: 't1', op: 'Identity', input: ['x'] });
  g.addNode({ name: 't2', op: 'Identity', input: ['t1'] });
  g.setInput(g.node('a'), 0, 't1');
  g.setInput(g.node('a'), 0, 't2'); // second rewire of the same slot: the original is kept
  g.replaceAllUses('t1', 'x', new Set()); // rewires t2, an added node: not journaled
  expect(j.added).toEqual(['t1', 't2']);
  expect(j.rewired).toEqual([['a', 0, 'x']]);
  g.removeNode('t1'); // an added node removed again needs no undoing
  expect(j.added).toEqual(['t2']);
  expect(() => g.removeNode('a')).toThrow(/irreversible/);
});

test('topoSort keeps a valid order and refuses cycles; prune drops what no output needs', () => {
  const g = graph([
    ['b', 'Relu', ['a']],
    ['x', 'Placeholder'],
    ['a', 'Relu', ['x']],
    ['dead', 'Relu', ['x']],
  ]);
  g.topoSort();
  expect(g.nodes.map((n) => n.name)).toEqual(['x', 'a', 'b', 'dead']);
  expect(g.prune(['b'])).toEqual(['dead']);
  expect(g.nodes.map((n) => n.name)).toEqual(['x', 'a', 'b']);
  g.setInput(g.node('a'), 0, 'b');
  expect(() => g.topoSort()).toThrow(/cycle/);
});

test('constants live in the weights, with their values', () => {
  const g = graph([]);
  g.addConst('k', 'int32', [3], [1, -1, 7]);
  expect(Array.from(g.constValues('k')!)).toEqual([1, -1, 7]);
  expect(g.weightsChanged).toBe(true);
  expect(() => g.addConst('bad', 'float32', [2, 2], [1])).toThrow(/1 values for shape \[2,2\]/);
});

test('the consumer index follows every edit', () => {
  const g = graph([
    ['x', 'Placeholder'],
    ['a', 'Relu', ['x']],
    ['b', 'AddV2', ['x', 'x:1']],
  ]);
  const names = (n: string) => g.consumerNodes(n).map((c) => c.name);
  expect(names('x')).toEqual(['a', 'b']);
  g.setInput(g.node('b'), 0, 'a'); // b still reads x:1
  expect(names('x')).toEqual(['a', 'b']);
  g.setInput(g.node('b'), 1, 'a');
  expect(names('x')).toEqual(['a']);
  expect(names('a')).toEqual(['b']);
  g.addNode({ name: 'c', op: 'Identity', input: ['a', '^x'] }); // a control input is not a consumer
  expect(names('a')).toEqual(['b', 'c']);
  expect(names('x')).toEqual(['a']);
  g.replaceAllUses('a', 'x');
  expect(names('a')).toEqual([]);
  expect(names('x')).toEqual(['a', 'b', 'c']); // a itself still reads x
  g.removeNode('c');
  expect(names('x')).toEqual(['a', 'b']);
});

test('prune under a journal records original nodes with their weights; restoreRemoved puts them back in place', () => {
  const g = graph([
    ['x', 'Placeholder'],
    ['a', 'Relu', ['x']],
  ]);
  g.addConst('w1', 'int32', [2], [1, 2]);
  g.addConst('w2', 'float32', [1], [0.5]);
  g.addConst('w3', 'int32', [], [7]);
  g.addNode({ name: 'uses', op: 'AddV2', input: ['a', 'w2', 'w3', 'w1'] });
  const order = [...g.weights.keys()];
  const j = g.startJournal();
  const t = g.addConst('t', 'int32', [], [0]);
  g.setInput(g.node('uses'), 1, t.name); // w2 is now unused
  g.setInput(g.node('uses'), 3, t.name); // and w1
  g.addNode({ name: 'orphan', op: 'Identity', input: ['t'] }); // added, unused
  expect(g.prune(['uses']).sort()).toEqual(['orphan', 'w1', 'w2']);
  expect(g.stopJournal()).toBe(j);
  expect(j.added).toEqual(['t']);
  expect(j.removed!.map((r) => [r.node.name, r.weight?.index])).toEqual([
    ['w1', 0],
    ['w2', 0],
  ]);
  expect([...g.weights.keys()]).toEqual(['w3', 't']);
  // Undo in the order strip uses: restore, re-point, remove what was added.
  g.restoreRemoved(j.removed!);
  for (const [name, index, ref] of j.rewired) g.setInput(g.node(name), index, ref);
  g.removeNode('t');
  expect([...g.weights.keys()]).toEqual(order);
  expect(Array.from(g.constValues('w1')!)).toEqual([1, 2]);
  expect(g.node('uses').input).toEqual(['a', 'w2', 'w3', 'w1']);
  // Without a journal nothing is recorded, and what was dead before is kept when asked.
  expect(g.prune(['uses'], new Set())).toEqual([]);
});

test('the journal read back from metadata is checked before use', async () => {
  const { isEditJournal } = await import('../../src/graph/journal');
  expect(isEditJournal({ added: [], rewired: [] })).toBe(true);
  expect(isEditJournal({ added: [], rewired: [], removed: [{ node: { name: 'n', op: 'Const' }, weight: { spec: { name: 'n' }, index: 0, data: '' } }] })).toBe(true);
  expect(isEditJournal({ added: [], rewired: [], removed: [{ node: { name: 'n' } }] })).toBe(false);
  expect(isEditJournal({ added: [], rewired: [], removed: [{ node: { name: 'n', op: 'Const' }, weight: { spec: { name: 'n' }, index: -1, data: '' } }] })).toBe(false);
  expect(isEditJournal({ added: [1], rewired: [] })).toBe(false);
});

test('movedNodes records few nodes, and originalOrder rebuilds the original order from any later one', () => {
  // A seeded shuffle of a few positions in 200 names, plus nodes added and one removed.
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let trial = 0; trial < 20; trial++) {
    const before = Array.from({ length: 200 }, (_, i) => `n${i}`);
    const after = [...before];
    for (let k = 0; k < 5; k++) {
      const [x] = after.splice(rand(after.length), 1);
      after.splice(rand(after.length), 0, x);
    }
    after.splice(rand(after.length), 0, 'added/a', 'added/b');
    const removed = after.splice(rand(after.length - 2), 1)[0];
    const moved = movedNodes(before, after);
    expect(moved.length).toBeLessThanOrEqual(6);
    expect(moved.map(([n]) => n)).toContain(removed);
    // What --strip has before reordering: the added nodes gone, the removed one appended.
    const current = [...after.filter((n) => !n.startsWith('added/')), removed];
    expect(originalOrder(current, moved)).toEqual(before);
  }
  expect(originalOrder(['a', 'b'], [['c', 5]])).toBeUndefined();
});

test('replaceNode puts the replacement where the node stood; readCount counts data reads and control readers; copy is independent', () => {
  const g = graph([
    ['x', 'Placeholder'],
    ['a', 'Relu', ['x']],
    ['b', 'AddV2', ['a', 'a']],
    ['c', 'Identity', ['x', '^a']],
  ]);
  expect(g.readCount('a')).toBe(3); // b twice, c by control
  const before = g.copy();
  g.replaceNode('a', [
    { name: 'a/inner', op: 'Neg', input: ['x'] },
    { name: 'a', op: 'Relu6', input: ['a/inner'] },
  ]);
  expect(g.nodeNames()).toEqual(['x', 'a/inner', 'a', 'b', 'c']);
  expect(g.consumerNodes('a').map((n) => n.name)).toEqual(['b']);
  expect(g.consumerNodes('a/inner').map((n) => n.name)).toEqual(['a']);
  expect(g.readCount('x')).toBe(2); // a/inner and c; the old a is gone
  g.removeNode('c');
  expect(g.readCount('a')).toBe(2);
  // The copy kept the graph as it was, node objects included.
  expect(before.nodeNames()).toEqual(['x', 'a', 'b', 'c']);
  expect(before.node('a').op).toBe('Relu');
  expect(before.readCount('a')).toBe(3);
  expect(() => g.replaceNode('b', [{ name: 'x', op: 'Identity' }])).toThrow("graph already has a node named 'x'");
  expect(g.uniqueName('a', new Set(['a_1']))).toBe('a_2');
});
