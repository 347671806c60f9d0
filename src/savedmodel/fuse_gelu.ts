// dense + exact GELU, as tfjs writes it, -> the form grappler fuses into _FusedMatMul[BiasAdd, GeluExact] (see fuse.ts).

import { AttrValue, NodeDef } from '../graph/types';
import { PathPattern, isFailure, matchParentPath } from '../graph/match';
import { AnchoredFusion, operandLeft, readOnlyBy } from './fuse_match';
import { fusedOps } from './split_fused';

interface GeluMatch {
  /** Removed, and the last (`out`) replaced by the rewritten chain. */
  nodes: NodeDef[];
  out: NodeDef;
  dense: NodeDef;
  reshape: NodeDef;
  /** The constants 0.5, 1 and 1/sqrt(2), reused as they are. */
  halfRef: string;
  oneRef: string;
  sqrtHalfRef: string;
}

const twoInputs = (n: NodeDef) => ((n.input ?? []).length === 2 ? undefined : `'${n.name}' has ${(n.input ?? []).length} inputs`);

/** 0.5·y with y = Reshape(dense(a, w, b)), from the Mul that multiplies it by the erf side. */
const HALF_Y: PathPattern = {
  name: '0.5·y, y = Reshape(dense + bias)',
  when: twoInputs,
  steps: [
    { label: '0.5·y', ops: ['Mul'], input: 'any', where: readOnlyBy(1), constInput: { input: 'other', equals: [0.5] } },
    { label: 'y = Reshape', ops: ['Reshape'], where: readOnlyBy(2) },
    {
      label: 'dense + bias',
      ops: ['_FusedMatMul'],
      where: (n, graph) => readOnlyBy(1)(n, graph) ?? (fusedOps(n).join(',') !== 'BiasAdd' || (n.input ?? []).length !== 3 ? `'${n.name}' fuses [${fusedOps(n)}], not BiasAdd alone` : undefined),
    },
  ],
};

/** 1 + erf(y·(1/sqrt(2))), from the same Mul; `end` is y. */
const ERF_SIDE: PathPattern = {
  name: '1 + erf(y/sqrt(2))',
  when: twoInputs,
  steps: [
    { label: '1 + erf', ops: ['AddV2'], input: 'any', where: readOnlyBy(1), constInput: { input: 'other', equals: [1] } },
    { label: 'erf', ops: ['Erf'], where: readOnlyBy(1) },
    { label: 'y·(1/sqrt(2))', ops: ['Mul'], input: 'any', where: readOnlyBy(1), constInput: { input: 'other', equals: [Math.SQRT1_2], tolerance: 1e-6 } },
  ],
};

/**
 * Exact GELU on a dense layer's output, as tfjs writes it:
 *   out = Mul(Mul(0.5, y), AddV2(1, Erf(Mul(y, 1/sqrt(2)))))
 * where y = Reshape(_FusedMatMul[BiasAdd](a, w, b)), rewritten to
 *   h = BiasAdd(MatMul(a, w), b);  out' = Mul(Mul(AddV2(Erf(Mul(h, 1/sqrt(2))), 1), 0.5), h);  out = Reshape(out')
 */
export const geluFusion: AnchoredFusion<GeluMatch> = {
  name: 'dense + GELU',
  anchor: 'Mul',
  match(graph, out) {
    for (const i of [0, 1]) {
      const a = matchParentPath(graph, out, i, HALF_Y);
      const b = matchParentPath(graph, out, 1 - i, ERF_SIDE);
      if (isFailure(a) || isFailure(b)) continue;
      const [half, reshape, dense] = a.nodes;
      const [plus, erf, scaled] = b.nodes;
      const y = half.input![a.via[0]];
      if (b.end !== y) return `the erf side reads ${b.end}, not y = ${y}`;
      return { nodes: [dense, reshape, half, scaled, erf, plus, out], out, dense, reshape, halfRef: operandLeft(a, 0), oneRef: operandLeft(b, 0), sqrtHalfRef: operandLeft(b, 2) };
    }
    return undefined;
  },
  apply(graph, m) {
    const { dense, reshape, out } = m;
    const [a, w, bias] = dense.input!;
    const T = dense.attr?.T ?? { type: 'DT_FLOAT' };
    const pick = (keys: string[]) => Object.fromEntries(keys.filter((k) => dense.attr?.[k] !== undefined).map((k) => [k, dense.attr![k]])) as Record<string, AttrValue>;
    const n = (suffix: string, op: string, input: string[], attr: Record<string, AttrValue> = {}): NodeDef => ({ name: `${dense.name}/gelu_fusable/${suffix}`, op, input, attr: { T, ...attr } });
    const matmul = n('MatMul', 'MatMul', [a, w], pick(['transpose_a', 'transpose_b']));
    const biasAdd = n('BiasAdd', 'BiasAdd', [matmul.name, bias]);
    const mulC = n('mul_sqrt_half', 'Mul', [biasAdd.name, m.sqrtHalfRef]);
    const erfN = n('erf', 'Erf', [mulC.name]);
    const addOne = n('add_one', 'AddV2', [erfN.name, m.oneRef]);
    const mulHalf = n('mul_half', 'Mul', [addOne.name, m.halfRef]);
    const gelu = n('gelu', 'Mul', [mulHalf.name, biasAdd.name]);
    const back: NodeDef = { ...reshape, name: out.name, input: [gelu.name, ...(reshape.input ?? []).slice(1)] };
    for (const node of m.nodes) if (node !== out) graph.removeNode(node.name);
    graph.replaceNode(out.name, [matmul, biasAdd, mulC, erfN, addOne, mulHalf, gelu, back]);
  },
};
