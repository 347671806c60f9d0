// Emits TF GraphDef nodes with the attributes tensorflowjs_converter writes for them, so graphs we
// build look to tfjs (and to our rewriter) like the real converter's. Every constant becomes a
// weight, as in converter output. Each helper returns the name of the node it added.

import { Graph, boolAttr, floatAttr, intAttr } from './ir';
import { AttrValue, NodeDef } from './types';

const F32: AttrValue = { type: 'DT_FLOAT' };
const I32: AttrValue = { type: 'DT_INT32' };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (v: number[]): AttrValue => ({ list: { i: v.map(String) } });

export class TfBuilder {
  constructor(readonly graph: Graph) {}

  node(name: string, op: string, input: string[], attr: Record<string, AttrValue> = {}): string {
    // Inputless nodes carry no `input` key, as in converter output.
    const n: NodeDef = input.length ? { name, op, input, attr } : { name, op, attr };
    return this.graph.addNode(n).name;
  }

  f32(name: string, shape: number[], values: ArrayLike<number>): string {
    return this.graph.addConst(name, 'float32', shape, values).name;
  }

  i32(name: string, shape: number[], values: ArrayLike<number>): string {
    return this.graph.addConst(name, 'int32', shape, values).name;
  }

  scalar(name: string, value: number): string {
    return this.f32(name, [], [value]);
  }

  placeholder(name: string, shape: number[]): string {
    return this.node(name, 'Placeholder', [], { shape: { shape: { dim: shape.map((s) => ({ size: String(s) })) } }, dtype: F32 });
  }

  transpose(name: string, x: string, perm: number[]): string {
    const p = this.i32(`${name}/perm`, [perm.length], perm);
    return this.node(name, 'Transpose', [x, p], { T: F32, Tperm: I32 });
  }

  /** Reshape to a constant target: the form src/rewrite/shapes.ts turns dynamic when it holds the token count. */
  reshape(name: string, x: string, shape: number[]): string {
    const s = this.i32(`${name}/shape`, [shape.length], shape);
    return this.node(name, 'Reshape', [x, s], { T: F32, Tshape: I32 });
  }

  matMul(name: string, a: string, b: string): string {
    return this.node(name, 'MatMul', [a, b], { T: F32, transpose_a: boolAttr(false), transpose_b: boolAttr(false) });
  }

  /** MatMul + BiasAdd in one kernel, as grappler fuses rank-2 dense layers. */
  fusedMatMulBias(name: string, a: string, b: string, bias: string): string {
    return this.node(name, '_FusedMatMul', [a, b, bias], {
      T: F32,
      transpose_a: boolAttr(false),
      transpose_b: boolAttr(false),
      fused_ops: { list: { s: [b64('BiasAdd')] } },
      num_args: intAttr(1),
      epsilon: floatAttr(0),
      leakyrelu_alpha: floatAttr(0.2),
    });
  }

  biasAdd(name: string, x: string, bias: string): string {
    return this.node(name, 'BiasAdd', [x, bias], { T: F32, data_format: { s: b64('NHWC') } });
  }

  /** NHWC, VALID, HWIO filter, BiasAdd fused: the converter's patch embedding. */
  fusedConv2dBias(name: string, x: string, filter: string, bias: string, stride: number): string {
    return this.node(name, '_FusedConv2D', [x, filter, bias], {
      T: F32,
      TArgs: { list: { type: ['DT_FLOAT'] } },
      data_format: { s: b64('NHWC') },
      filter_format: { s: b64('HWIO') },
      padding: { s: b64('VALID') },
      strides: ints([1, stride, stride, 1]),
      dilations: ints([1, 1, 1, 1]),
      explicit_paddings: { list: {} },
      fused_ops: { list: { s: [b64('BiasAdd')] } },
      num_args: intAttr(1),
      num_host_args: intAttr(0),
      use_cudnn_on_gpu: boolAttr(true),
      epsilon: floatAttr(0),
      leakyrelu_alpha: floatAttr(0.2),
    });
  }

  batchMatMul(name: string, a: string, b: string, adjY: boolean, adjX = false): string {
    return this.node(name, 'BatchMatMulV2', [a, b], { T: F32, adj_x: boolAttr(adjX), adj_y: boolAttr(adjY) });
  }

  binary(name: string, op: 'AddV2' | 'Mul' | 'Sub' | 'SquaredDifference' | 'RealDiv' | 'Maximum', a: string, b: string): string {
    return this.node(name, op, [a, b], { T: F32 });
  }

  unary(name: string, op: 'Rsqrt' | 'Erf' | 'Softmax' | 'Identity' | 'Sqrt' | 'Square' | 'Log' | 'OnesLike' | 'ZerosLike', x: string): string {
    return this.node(name, op, [x], { T: F32 });
  }

  /** Sum / Max over constant axes. */
  reduce(name: string, op: 'Sum' | 'Max', x: string, axes: number[], keepDims: boolean): string {
    const a = this.i32(`${name}/reduction_indices`, [axes.length], axes);
    return this.node(name, op, [x, a], { T: F32, Tidx: I32, keep_dims: boolAttr(keepDims) });
  }

  /** GatherV2 of constant indices along `axis`. */
  gather(name: string, x: string, indices: number[], axis: number, dtype: 'float32' | 'int32' = 'float32'): string {
    const idx = this.i32(`${name}/indices`, [indices.length], indices);
    const ax = this.i32(`${name}/axis`, [], [axis]);
    return this.node(name, 'GatherV2', [x, idx, ax], { Tparams: dtype === 'int32' ? I32 : F32, Tindices: I32, Taxis: I32, batch_dims: intAttr(0) });
  }

  argMax(name: string, x: string, axis: number): string {
    const dim = this.i32(`${name}/dimension`, [], [axis]);
    return this.node(name, 'ArgMax', [x, dim], { T: F32, Tidx: I32, output_type: I32 });
  }

  /** TopKV2 over the last axis, sorted; values are output 0, int32 indices output 1. */
  topK(name: string, x: string, k: number): string {
    const kc = this.i32(`${name}/k`, [], [k]);
    return this.node(name, 'TopKV2', [x, kc], { T: F32, sorted: boolAttr(true) });
  }

  cumsum(name: string, x: string, axis: number): string {
    const a = this.i32(`${name}/axis`, [], [axis]);
    return this.node(name, 'Cumsum', [x, a], { T: F32, Tidx: I32, exclusive: boolAttr(false), reverse: boolAttr(false) });
  }

  cast(name: string, x: string, from: 'float32' | 'int32' | 'bool', to: 'float32' | 'int32'): string {
    const t = (d: string): AttrValue => ({ type: d === 'int32' ? 'DT_INT32' : d === 'bool' ? 'DT_BOOL' : 'DT_FLOAT' });
    return this.node(name, 'Cast', [x], { SrcT: t(from), DstT: t(to), Truncate: boolAttr(false) });
  }

  equal(name: string, a: string, b: string): string {
    return this.node(name, 'Equal', [a, b], { T: F32, incompatible_shape_error: boolAttr(true) });
  }

  expandDims(name: string, x: string, axis: number, dtype: 'float32' | 'int32' = 'float32'): string {
    const dim = this.i32(`${name}/dim`, [], [axis]);
    return this.node(name, 'ExpandDims', [x, dim], { T: dtype === 'int32' ? I32 : F32, Tdim: I32 });
  }

  mean(name: string, x: string, axes: number[], keepDims: boolean): string {
    return this.meanOf(name, x, this.i32(`${name}/reduction_indices`, [axes.length], axes), keepDims);
  }

  /** Mean over the axes an existing int32 tensor holds (a constant shared by several nodes). */
  meanOf(name: string, x: string, axes: string, keepDims: boolean): string {
    return this.node(name, 'Mean', [x, axes], { T: F32, Tidx: I32, keep_dims: boolAttr(keepDims) });
  }

  shape(name: string, x: string): string {
    return this.node(name, 'Shape', [x], { T: F32, out_type: I32 });
  }

  concat(name: string, inputs: string[], axis: number, dtype: 'float32' | 'int32'): string {
    return this.concatOf(name, inputs, this.i32(`${name}/axis`, [], [axis]), dtype);
  }

  /** ConcatV2 along the axis an existing int32 scalar holds. */
  concatOf(name: string, inputs: string[], axis: string, dtype: 'float32' | 'int32'): string {
    return this.node(name, 'ConcatV2', [...inputs, axis], { N: intAttr(inputs.length), T: dtype === 'int32' ? I32 : F32, Tidx: I32 });
  }

  tile(name: string, x: string, multiples: string): string {
    return this.node(name, 'Tile', [x, multiples], { T: F32, Tmultiples: I32 });
  }

  stridedSlice(
    name: string,
    x: string,
    spec: { begin: number[]; end: number[]; strides: number[]; beginMask?: number; endMask?: number; shrink?: number },
    dtype: 'float32' | 'int32',
  ): string {
    const n = spec.begin.length;
    const begin = this.i32(`${name}/stack`, [n], spec.begin);
    const end = this.i32(`${name}/stack_1`, [n], spec.end);
    const strides = this.i32(`${name}/stack_2`, [n], spec.strides);
    return this.stridedSliceOf(name, x, [begin, end, strides], spec, dtype);
  }

  /** StridedSlice whose begin, end and strides are existing int32 vectors (constants shared by several slices). */
  stridedSliceOf(
    name: string,
    x: string,
    [begin, end, strides]: [string, string, string],
    masks: { beginMask?: number; endMask?: number; shrink?: number },
    dtype: 'float32' | 'int32',
  ): string {
    return this.node(name, 'StridedSlice', [x, begin, end, strides], {
      T: dtype === 'int32' ? I32 : F32,
      Index: I32,
      begin_mask: intAttr(masks.beginMask ?? 0),
      end_mask: intAttr(masks.endMask ?? 0),
      ellipsis_mask: intAttr(0),
      new_axis_mask: intAttr(0),
      shrink_axis_mask: intAttr(masks.shrink ?? 0),
    });
  }
}
