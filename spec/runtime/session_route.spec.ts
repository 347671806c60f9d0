// loadTurboModel's routes on the tensorflow backend: by default the model.json runs as one
// TensorFlow graph (no tfjs kernel runs during execute), { route: 'op-by-op' } keeps tfjs's
// executor; both give the same logits and token counts, at batch 1 and above, through execute,
// executeAsync and predict. Needs tfjs-node and the op library (NOT TESTED otherwise; failing under
// TFJS_TURBO_REQUIRE=native).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { embeddedModelDir, convertWithTurbo } from '../../src/convert';
import { useBackend } from '../../src/runtime/backend';
import { TurboGraphModel, loadTurboModel } from '../../src/runtime/load';
import { describeNative } from '../native/helpers';
import { argmaxRows, loadVitTinyParity, maxAbsDiff } from '../helpers/parity';

describeNative("loadTurboModel's routes on tensorflow", () => {
  const parity = loadVitTinyParity();
  const expected = parity.results.find((r) => r.config.r === 13 && r.config.alpha === 1)!;
  let tmp: string;
  let turboDir: string;
  let session: TurboGraphModel;
  let opByOp: TurboGraphModel;
  let blocks: string[];

  beforeAll(async () => {
    await useBackend('tensorflow');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-route-'));
    turboDir = path.join(tmp, 'turbo');
    const converted = await convertWithTurbo(embeddedModelDir(), turboDir, { r: 13, alpha: 1 });
    blocks = converted.plan.blocks.map((b) => b.mlpResidual.name);
    session = await loadTurboModel(turboDir, { cacheDir: path.join(tmp, 'cache') });
    opByOp = await loadTurboModel(turboDir, { route: 'op-by-op' });
  });
  afterAll(() => {
    session?.dispose();
    opByOp?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** tfjs kernels dispatched while `f` runs, and its result read back. */
  async function kernelsDuring(f: () => tf.Tensor | tf.Tensor[] | tf.NamedTensorMap): Promise<string[]> {
    const info = await tf.profile(async () => {
      const out = f();
      const list = out instanceof tf.Tensor ? [out] : Array.isArray(out) ? out : Object.values(out);
      await Promise.all(list.map((t) => t.data()));
      tf.dispose(list);
    });
    return info.kernels.map((k) => k.name);
  }

  test('the default route is the session: one TensorFlow graph, no tfjs kernel per op', async () => {
    expect({ route: session.route, reason: session.routeReason, cache: session.cache?.how }).toEqual({ route: 'session', reason: undefined, cache: 'written' });
    const x = parity.inputs;
    expect(await kernelsDuring(() => session.execute({ pixel_values: x }, 'logits'))).toEqual([]);
    const ops = await kernelsDuring(() => opByOp.execute({ pixel_values: x }, 'logits'));
    expect(ops.length).toBeGreaterThan(500);
    expect(ops).toContain('TurboMerge');
    x.dispose();
  });

  test("route 'op-by-op' is tfjs's executor, with the reason recorded", () => {
    expect({ route: opByOp.route, reason: opByOp.routeReason }).toEqual({ route: 'op-by-op', reason: 'asked for' });
  });

  test.each([1, 3, 8])('batch %i: same logits and token counts on both routes, official r = 13 alpha = 1 within 2e-3', async (batch) => {
    const all = parity.inputs;
    const x = tf.slice(all, [0], [batch]);
    const run = async (m: TurboGraphModel) => {
      const outs = m.execute({ pixel_values: x }, ['logits', ...blocks]) as tf.Tensor[];
      const logits = await outs[0].data();
      const tokens = outs.slice(1).map((t) => t.shape);
      tf.dispose(outs);
      return { logits, tokens };
    };
    const s = await run(session);
    const o = await run(opByOp);
    tf.dispose([x, all]);
    expect(s.tokens).toEqual(o.tokens);
    expect(s.tokens.map((shape) => shape[0])).toEqual(blocks.map(() => batch));
    expect(s.tokens.map((shape) => shape[1])).toEqual(expected.tokensAfterEachBlock);
    expect(maxAbsDiff(s.logits, o.logits)).toBeLessThan(2e-3);
    const official = expected.logits.slice(0, batch).flat();
    expect(maxAbsDiff(s.logits, official)).toBeLessThan(2e-3);
    expect(argmaxRows(s.logits, 1000)).toEqual(expected.top1.slice(0, batch));
  });

  test('predict, predictAsync and executeAsync take a tensor, a list or named inputs, like a GraphModel', async () => {
    const x = parity.inputs;
    const ref = (await (session.execute({ pixel_values: x }) as tf.Tensor).data()) as Float32Array;
    const answers = [session.predict(x), session.predict([x]), await session.predictAsync({ pixel_values: x }), await session.executeAsync(x, 'Identity')];
    for (const a of answers) {
      expect(a).toBeInstanceOf(tf.Tensor);
      expect(Array.from(await (a as tf.Tensor).data())).toEqual(Array.from(ref));
    }
    tf.dispose([x, ...(answers as tf.Tensor[])]);
    expect(session.inputs.map((i) => [i.name, i.shape])).toEqual([['pixel_values', [-1, 3, 224, 224]]]);
    expect(session.outputNodes).toEqual(['logits']);
  });

  test('refuses what the session cannot do with a message that says what to do', () => {
    const x = tf.zeros([0, 3, 224, 224]);
    expect(() => session.execute({ pixel_values: x }, 'logits')).toThrow(/batch size 0/);
    x.dispose();
    const y = tf.zeros([1, 3, 224, 224]);
    expect(() => session.execute({ pixel_values: y }, 'no_such_node')).toThrow(/route: 'op-by-op'/);
    expect(() => session.execute({ not_an_input: y }, 'logits')).toThrow(/not an input/);
    y.dispose();
  });

  test("route 'session' on another backend is an error, not a silent op-by-op run", async () => {
    await useBackend('cpu');
    try {
      await expect(loadTurboModel(turboDir, { route: 'session' })).rejects.toThrow(/cpu backend/);
      const m = await loadTurboModel(turboDir);
      expect({ route: m.route, reason: m.routeReason }).toEqual({ route: 'op-by-op', reason: 'the cpu backend runs graphs op by op' });
      m.dispose();
    } finally {
      await useBackend('tensorflow');
    }
  });
});
