// The declarative matcher and the patterns blocks.ts is made of: each named variant matched on a
// real converter graph or a minimal one, and a mismatch that names the failing step.
import * as path from 'path';
import { Graph } from '../../src/graph/ir';
import { PathPattern, describeFailures, isFailure, matchParentPath, matchTensorPath, matchVariants } from '../../src/graph/match';
import { readModelJsonOnly } from '../../src/graph/model_io';
import { TfBuilder } from '../../src/graph/tf_builder';
import { KEYS, SOFTMAX_TO_QK } from '../../src/rewrite/blocks';
import { HF_FIXTURES } from '../hf/hf_fixture';

function emptyGraph(): Graph {
  return new Graph({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }, []);
}

/** q, k [B, H, N, d] placeholders; keys passed through `keys(tf, k)` into Q·Kᵀ, then scale and Softmax. */
function attention(keys: (tf: TfBuilder, k: string) => string, adjY: boolean, beforeSoftmax: 'Mul' | 'Relu' = 'Mul') {
  const g = emptyGraph();
  const tf = new TfBuilder(g);
  const q = tf.placeholder('q', [1, 2, 5, 4]);
  const k = tf.placeholder('k', [1, 2, 5, 4]);
  const qk = tf.batchMatMul('qk', q, keys(tf, k), adjY);
  const scaled = beforeSoftmax === 'Mul' ? tf.binary('scaled', 'Mul', qk, tf.scalar('scale', 0.5)) : tf.node('scaled', 'Relu', [qk], { T: { type: 'DT_FLOAT' } });
  tf.unary('probs', 'Softmax', scaled);
  return g;
}

test.each(['vit-small', 'deit-small', 'clip-small', 'blip-small'])('%s (tensorflowjs_converter): every Softmax walks up to Q·Kᵀ; keys are read with adj_y', async (fixture) => {
  const g = await readModelJsonOnly(path.join(HF_FIXTURES, fixture, 'model.json'));
  const softmaxes = g.nodes.filter((n) => n.op === 'Softmax');
  expect(softmaxes.length).toBe(4);
  for (const s of softmaxes) {
    const up = matchParentPath(g, s, 0, SOFTMAX_TO_QK);
    if (isFailure(up)) throw new Error(`${s.name}: ${up.step}: ${up.reason}`);
    const qk = up.nodes[up.nodes.length - 1];
    expect(qk.op).toBe('BatchMatMulV2');
    expect(up.nodes.slice(0, -1).every((n) => ['Mul', 'AddV2', 'RealDiv'].includes(n.op))).toBe(true);
    const keys = matchVariants(g, qk, 1, KEYS);
    if (Array.isArray(keys)) throw new Error(describeFailures(keys));
    expect(keys.pattern).toBe('keys read with adj_y');
    expect(keys.end).toBe(qk.input![1]);
  }
});

test('keys as an explicit Transpose(k, [0, 1, 3, 2]) without adj_y', () => {
  const g = attention((tf, k) => tf.transpose('kt', k, [0, 1, 3, 2]), false);
  const qk = g.node('qk');
  const keys = matchVariants(g, qk, 1, KEYS);
  if (Array.isArray(keys)) throw new Error(describeFailures(keys));
  expect(keys.pattern).toBe('keys as Transpose(k, [0, 1, 3, 2])');
  expect(keys.end).toBe('k');
});

test('a mismatch names each variant, the step and what was found', () => {
  const g = attention((tf, k) => tf.transpose('kt', k, [0, 2, 1, 3]), false);
  const keys = matchVariants(g, g.node('qk'), 1, KEYS);
  expect(Array.isArray(keys)).toBe(true);
  expect(describeFailures(keys as never)).toBe(
    "keys read with adj_y: at start, adj_y is false; keys as Transpose(k, [0, 1, 3, 2]): at Transpose [0, 1, 3, 2], Transpose 'kt' has perm [0,2,1,3]",
  );
  const relu = attention((_tf, k) => k, true, 'Relu');
  const up = matchParentPath(relu, relu.node('probs'), 0, SOFTMAX_TO_QK);
  expect(up).toEqual({ pattern: 'Softmax ← scale/mask* ← Q·Kᵀ', step: 'Q·Kᵀ', reason: "found Relu 'scaled'" });
});

test('optional steps are skipped, repeated steps take every node in a row', () => {
  const g = emptyGraph();
  const tf = new TfBuilder(g);
  const x = tf.placeholder('x', [2]);
  const a = tf.unary('a', 'Identity', tf.unary('b', 'Identity', tf.unary('c', 'Sqrt', x)));
  const out = tf.unary('out', 'Log', a);
  const m = matchParentPath(g, g.node(out), 0, {
    name: 'p',
    steps: [
      { label: 'identities', ops: ['Identity'], repeat: true },
      { label: 'optional Square', ops: ['Square'], optional: true },
      { label: 'sqrt', ops: ['Sqrt'] },
    ],
  });
  if (isFailure(m)) throw new Error(m.reason);
  expect(m.nodes.map((n) => n.name)).toEqual(['a', 'b', 'c']);
  expect(m.end).toBe('x');
});

describe("'any' inputs, constant operands and whole-walk checks", () => {
  /** out = Mul(0.5 or x, x or 0.5) over Relu(p), in the operand order given. */
  function halfOfRelu(constFirst: boolean, value = 0.5) {
    const g = emptyGraph();
    const tf = new TfBuilder(g);
    const relu = tf.node('relu', 'Relu', [tf.placeholder('p', [2])], { T: { type: 'DT_FLOAT' } });
    const c = tf.scalar('c', value);
    tf.binary('out', 'Mul', constFirst ? c : relu, constFirst ? relu : c);
    return g;
  }
  const HALF: PathPattern = {
    name: '0.5·relu',
    steps: [
      { label: '0.5·y', ops: ['Mul'], input: 'any', constInput: { input: 'other', equals: [0.5] } },
      { label: 'relu', ops: ['Relu'] },
    ],
  };

  test.each([true, false])('the constant as operand %s: the walk takes the other one and says which (via)', (constFirst) => {
    const m = matchTensorPath(halfOfRelu(constFirst), 'out', HALF);
    if (isFailure(m)) throw new Error(m.reason);
    expect(m.nodes.map((n) => n.name)).toEqual(['out', 'relu']);
    expect(m.via[0]).toBe(constFirst ? 1 : 0);
    expect(m.end).toBe('p');
  });

  test('another constant value is a failure naming it', () => {
    const m = matchTensorPath(halfOfRelu(false, 0.25), 'out', HALF);
    expect(isFailure(m) && m.reason).toBe("'out' has constant [0.25] where [0.5] is needed");
  });

  test("a failed check sends an 'any' step on to its next input; when every way fails, the check's reason is returned", () => {
    const g = emptyGraph();
    const tf = new TfBuilder(g);
    const a = tf.unary('a', 'Identity', tf.placeholder('p', [2]));
    const b = tf.unary('b', 'Identity', tf.placeholder('q', [2]));
    tf.binary('sum', 'AddV2', a, b);
    const reads = (want: string): PathPattern => ({
      name: `sum ← Identity(${want})`,
      steps: [{ label: 'sum', ops: ['AddV2'], input: 'any' }, { label: 'identity', ops: ['Identity'] }],
      check: (m) => (m.end === want ? undefined : `reads ${m.end}`),
    });
    const viaB = matchTensorPath(g, 'sum', reads('q'));
    if (isFailure(viaB)) throw new Error(viaB.reason);
    expect(viaB.nodes.map((n) => n.name)).toEqual(['sum', 'b']);
    const none = matchTensorPath(g, 'sum', reads('r'));
    expect(isFailure(none) && [none.step, none.reason]).toEqual(['check', 'reads p']);
  });
});
