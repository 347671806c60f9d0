// Static token counts -> dynamic. Converter graphs bake N into Reshape targets such as
// [-1, N, C] or [-1, N, H, d]; after a merge N shrinks, so those targets become
// [batch, -1, ...] with batch read from the graph input at run time (batch never changes inside
// the network, so one Shape of the input serves every Reshape).

import { Graph, dataInputs, intAttr } from '../graph/ir';
import { NodeDef } from '../graph/types';

const PREFIX = 'turbo/shapes';

export interface DynamicShapesReport {
  /** Reshape nodes whose target now comes from the run-time batch size. */
  reshapes: string[];
}

export function makeTokenCountDynamic(graph: Graph, tokenCount: number, inputRef: string): DynamicShapesReport {
  const targets = new Map<string, string>();
  const reshapes: string[] = [];
  let batch: string | undefined;
  for (const node of [...graph.nodes]) {
    if (node.op !== 'Reshape') continue;
    const shapeRef = dataInputs(node)[1];
    const shape = graph.constValues(shapeRef);
    if (!shape || shape.length < 3 || shape[0] !== -1 || shape[1] !== tokenCount) continue;
    batch ??= batchSizeVector(graph, inputRef);
    let target = targets.get(shapeRef);
    if (!target) {
      target = dynamicTarget(graph, batch, shapeRef, Array.from(shape.slice(2)));
      targets.set(shapeRef, target);
    }
    graph.setInput(node, node.input!.indexOf(shapeRef), target);
    reshapes.push(node.name);
  }
  return { reshapes };
}

/** Every Reshape target still holding the static token count in the token position. */
export function staticTokenReshapes(graph: Graph, tokenCount: number): string[] {
  return graph.nodes
    .filter((n) => n.op === 'Reshape')
    .filter((n) => {
      const s = graph.constValues(dataInputs(n)[1]);
      return !!s && s.length >= 3 && s[1] === tokenCount;
    })
    .map((n) => n.name);
}

function batchSizeVector(graph: Graph, inputRef: string): string {
  const shape = graph.addNode({
    name: graph.uniqueName(`${PREFIX}/input_shape`),
    op: 'Shape',
    input: [inputRef],
    attr: { out_type: { type: 'DT_INT32' }, T: { type: 'DT_FLOAT' } },
  });
  const begin = graph.addConst(graph.uniqueName(`${PREFIX}/batch_begin`), 'int32', [1], [0]);
  const end = graph.addConst(graph.uniqueName(`${PREFIX}/batch_end`), 'int32', [1], [1]);
  const strides = graph.addConst(graph.uniqueName(`${PREFIX}/batch_strides`), 'int32', [1], [1]);
  return graph.addNode(stridedSlice(graph.uniqueName(`${PREFIX}/batch_size`), shape.name, begin.name, end.name, strides.name)).name;
}

function dynamicTarget(graph: Graph, batch: string, shapeRef: string, rest: number[]): string {
  const base = `${PREFIX}/${shapeRef.replace(/[:^]/g, '_')}`;
  const tail = graph.addConst(graph.uniqueName(`${base}/tail`), 'int32', [rest.length + 1], [-1, ...rest]);
  const axis = graph.addConst(graph.uniqueName(`${base}/axis`), 'int32', [], [0]);
  return graph.addNode({
    name: graph.uniqueName(`${base}/dynamic`),
    op: 'ConcatV2',
    input: [batch, tail.name, axis.name],
    attr: { N: intAttr(2), T: { type: 'DT_INT32' }, Tidx: { type: 'DT_INT32' } },
  }).name;
}

export function stridedSlice(
  name: string,
  input: string,
  begin: string,
  end: string,
  strides: string,
  masks: { begin?: number; end?: number; shrink?: number; dtype?: 'DT_FLOAT' | 'DT_INT32' } = {},
): NodeDef {
  return {
    name,
    op: 'StridedSlice',
    input: [input, begin, end, strides],
    attr: {
      Index: { type: 'DT_INT32' },
      T: { type: masks.dtype ?? 'DT_INT32' },
      begin_mask: intAttr(masks.begin ?? 0),
      end_mask: intAttr(masks.end ?? 0),
      ellipsis_mask: intAttr(0),
      new_axis_mask: intAttr(0),
      shrink_axis_mask: intAttr(masks.shrink ?? 0),
    },
  };
}
