// The SavedModel writer's first pass: tfjs's fused ops that TensorFlow cannot run as tfjs wrote
// them, split into plain ops it can.
//
// tfjs graph models carry grappler's fused ops: `_FusedMatMul` and `_FusedConv2D` are real
// TensorFlow ops, but TensorFlow's CPU kernels accept only some `fused_ops` lists, while tfjs
// adds its own (Prelu, Sigmoid) and its own op name `FusedDepthwiseConv2dNative`. The combination
// both run the same way, MatMul/Conv2D + BiasAdd, is kept fused (checked by loading ViT-Tiny,
// spec/savedmodel/); every other fused node is split into its plain ops, which grappler fuses
// again where TensorFlow has a kernel for it. The original node's name goes to the last op of
// the split, so consumers stay wired.

import { GraphError } from '../errors';
import { Graph } from '../graph/ir';
import { NodeDef } from '../graph/types';

const FUSED_BASE: Record<string, string> = {
  _FusedMatMul: 'MatMul',
  _FusedConv2D: 'Conv2D',
  FusedDepthwiseConv2dNative: 'DepthwiseConv2dNative',
};

/** Attrs of the fused op that belong to the base op (the rest describe the fusion). */
const BASE_ATTRS: Record<string, string[]> = {
  MatMul: ['T', 'transpose_a', 'transpose_b'],
  Conv2D: ['T', 'strides', 'padding', 'explicit_paddings', 'data_format', 'dilations', 'use_cudnn_on_gpu'],
  DepthwiseConv2dNative: ['T', 'strides', 'padding', 'explicit_paddings', 'data_format', 'dilations'],
};

/** What TensorFlow's CPU kernels run fused, as written by tfjs (see the header comment). */
const TF_RUNS_FUSED: Record<string, string[][]> = {
  _FusedMatMul: [['BiasAdd']],
  _FusedConv2D: [['BiasAdd']],
};

/** The ops a fused node (_FusedMatMul, _FusedConv2D, ...) applies after its base op, in order. */
export function fusedOps(node: NodeDef): string[] {
  return (node.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('latin1'));
}

/** Splits every fused node TensorFlow cannot run into its plain ops, in its place; others are untouched. Returns how many. */
export function splitFusedOps(graph: Graph, source: string): number {
  const split = graph.nodes.filter((node) => node.op in FUSED_BASE && !runsFused(node));
  for (const node of split) graph.replaceNode(node.name, splitFused(node, source));
  return split.length;
}

function runsFused(node: NodeDef): boolean {
  const ops = fusedOps(node).join(',');
  return (TF_RUNS_FUSED[node.op] ?? []).some((list) => list.join(',') === ops);
}

/** base op -> BiasAdd -> activation, each a node of its own; the last one takes the node's name. */
function splitFused(node: NodeDef, source: string): NodeDef[] {
  const base = FUSED_BASE[node.op];
  const attr = node.attr ?? {};
  const inputs = node.input ?? [];
  const control = inputs.filter((r) => r.startsWith('^'));
  const data = inputs.filter((r) => !r.startsWith('^'));
  const [x, w, ...args] = data;
  const T = attr.T ?? { type: 'DT_FLOAT' };
  const steps: NodeDef[] = [];
  const baseAttr = Object.fromEntries(BASE_ATTRS[base].filter((k) => attr[k] !== undefined).map((k) => [k, attr[k]]));
  const push = (op: string, input: string[], extra: NodeDef['attr'] = {}) => {
    steps.push({ name: `${node.name}/lowered_${steps.length}_${op}`, op, input, attr: { T, ...extra } });
    return steps[steps.length - 1].name;
  };
  let cur = push(base, [x, w], baseAttr);
  let argIndex = 0;
  const nextArg = (what: string) => {
    const a = args[argIndex++];
    if (a === undefined) throw new GraphError(source, `'${node.name}' (${node.op}) fuses ${what} but has no input for it`);
    return a;
  };
  for (const op of fusedOps(node)) {
    switch (op) {
      case 'BiasAdd':
        cur = push('BiasAdd', [cur, nextArg('BiasAdd')], attr.data_format ? { data_format: attr.data_format } : {});
        break;
      case 'Relu':
      case 'Relu6':
      case 'Elu':
      case 'Sigmoid':
      case 'Tanh':
        cur = push(op, [cur]);
        break;
      case 'LeakyRelu':
        cur = push('LeakyRelu', [cur], { alpha: { f: attr.leakyrelu_alpha?.f ?? 0.2 } });
        break;
      case 'Prelu': {
        // tfjs prelu(x, a) = max(x, 0) + a * min(x, 0) = relu(x) + a * (x - relu(x))
        const alpha = nextArg('Prelu');
        const pos = push('Relu', [cur]);
        const neg = push('Sub', [cur, pos]);
        cur = push('AddV2', [pos, push('Mul', [alpha, neg])]);
        break;
      }
      default:
        throw new GraphError(source, `'${node.name}' (${node.op}) fuses ${op}, which the SavedModel writer cannot lower`);
    }
  }
  const last = steps[steps.length - 1];
  last.name = node.name;
  if (control.length) steps[0].input = [...(steps[0].input ?? []), ...control];
  // Later steps read the renamed last step only through its own name, which no earlier step uses.
  return steps;
}
