// The graph IR: references, consumers, rewiring, the edit journal behind --strip, ordering, pruning.
import { Graph, formatRef, parseRef } from '../../src/graph/ir';
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
