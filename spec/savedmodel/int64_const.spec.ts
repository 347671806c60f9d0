// tensorflowjs_converter narrows int64 constants to int32 weights and keeps DT_INT64 on the node
// (BLIP's retrieval ITM graph has one); TensorFlow refuses that Const when the graph runs, so the
// writer widens the values back. Found when loadTurboModel's session route ran BLIP's graphs.
import { Graph } from '../../src/graph/ir';
import { NodeDef } from '../../src/graph/types';
import { toGraphDef } from '../../src/savedmodel/graphdef';

const konst = (name: string, dtype: string): NodeDef => ({ name, op: 'Const', attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: { dim: [{ size: '3' }] } } } } });

test('an int64 Const stored as an int32 weight is written as DT_INT64 with the same values; int32 stays int32', () => {
  const values = Int32Array.from([1, -2, 2147483647]);
  const bytes = () => new Uint8Array(values.slice().buffer);
  const graph = new Graph({ format: 'graph-model', modelTopology: { node: [konst('wide', 'DT_INT64'), konst('narrow', 'DT_INT32')] }, weightsManifest: [] }, [
    { spec: { name: 'wide', shape: [3], dtype: 'int32' }, bytes: bytes() },
    { spec: { name: 'narrow', shape: [3], dtype: 'int32' }, bytes: bytes() },
  ]);
  const nodes = toGraphDef(graph, 'model.json', false).node as { name: string; attr: { value: { tensor: { dtype: string; tensorContent: Uint8Array } } } }[];
  const tensor = (name: string) => nodes.find((n) => n.name === name)!.attr.value.tensor;
  const wide = tensor('wide');
  expect(wide.dtype).toBe('DT_INT64');
  const c = wide.tensorContent;
  expect(Array.from(new BigInt64Array(c.buffer.slice(c.byteOffset, c.byteOffset + c.byteLength)))).toEqual([1n, -2n, 2147483647n]);
  expect(tensor('narrow').dtype).toBe('DT_INT32');
  expect(Array.from(new Uint8Array(tensor('narrow').tensorContent))).toEqual(Array.from(bytes()));
});
