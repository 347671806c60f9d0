// The 'tensorflow' backend (tfjs-node, installed by `npm run setup:native`): chosen by default when
// installed, loadTurboModel runs a converted Turbo model on it, the demo says which backend and
// which route (session or op by op) ran.
// When tfjs-node is absent this file says so, and the backend-parameterised suites (ViT-Tiny parity,
// merge cases, HF fixtures) simply run without it: see spec/helpers/backends.ts.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { embeddedModelDir, convertWithTurbo } from '../../src/convert';
import { buildDemoProgram } from '../../src/cli/demo';
import { runProgram } from '../../src/cli/run';
import { defaultBackend, describeBackend, useBackend } from '../../src/runtime/backend';
import { loadTurboModel } from '../../src/runtime/load';
import { nativeInstalled } from '../helpers/backends';
import { argmaxRows, loadVitTinyParity, maxAbsDiff } from '../helpers/parity';
import { required } from '../helpers/required';
import { nativeOpsMissing } from '../native/helpers';

const NATIVE = nativeInstalled();

if (required('native')) test('tfjs-node is installed, as TFJS_TURBO_REQUIRE demands', () => expect(NATIVE).toBe(true));

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-native-'));
  if (!NATIVE) {
    console.warn(
      'tfjs-node is NOT installed: the tensorflow backend is not tested in this run (the parity, merge-case and HF suites ran on cpu and wasm only). `npm run setup:native` installs it; .ci/run does.',
    );
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test(`the default backend is ${NATIVE ? 'tensorflow (tfjs-node installed)' : 'wasm (tfjs-node not installed)'}`, async () => {
  expect(defaultBackend()).toBe(NATIVE ? 'tensorflow' : 'wasm');
  await useBackend();
  expect(tf.getBackend()).toBe(NATIVE ? 'tensorflow' : 'wasm');
});

test('the demo prints which backend ran', async () => {
  const lines: string[] = [];
  let err = '';
  const code = await runProgram(buildDemoProgram((l) => lines.push(l)), ['--out', path.join(tmp, 'demo'), '--rounds', '1'], {
    err: (s) => (err += s),
  });
  expect({ code, err }).toEqual({ code: 0, err: '' });
  const line = lines.find((l) => l.startsWith('backend: '));
  if (NATIVE) expect(line).toMatch(/^backend: tensorflow \(@tensorflow\/tfjs-node(-gpu)? 4\.22\.0, TensorFlow 2\.\d+\.\d+\)$/);
  else expect(line).toBe('backend: wasm');
  // The Turbo model needs the op library inside TensorFlow for the session route; without it (or
  // without tfjs-node) the demo runs op by op and says why.
  const route = lines.find((l) => l.startsWith('route: '));
  if (NATIVE && nativeOpsMissing() === null) expect(route).toBe('route: session (the whole model as one TensorFlow graph, one call per run)');
  else expect(route).toMatch(/^route: op by op \(tfjs's graph executor: .+\)$/);
  expect(lines[lines.length - 1]).toMatch(new RegExp(`^${NATIVE ? 'tensorflow' : 'wasm'} backend, batch 1`));
});

if (NATIVE) {
  describe('tensorflow backend', () => {
    test('loadTurboModel runs a converted Turbo ViT-Tiny: official r = 16, alpha = 5 logits within 2e-3, same top-1', async () => {
      await useBackend('tensorflow');
      expect(describeBackend()).toMatch(/^tensorflow \(/);
      const parity = loadVitTinyParity();
      const expected = parity.results.find((r) => r.config.r === 16 && r.config.alpha === 5 && r.config.rThreshold === undefined)!;
      const out = path.join(tmp, 'turbo');
      await convertWithTurbo(embeddedModelDir(), out, { r: 16, alpha: 5 });
      const model = await loadTurboModel(out);
      const inputs = parity.inputs;
      const logits = model.execute({ pixel_values: inputs }, 'logits') as tf.Tensor;
      const data = await logits.data();
      tf.dispose([logits, inputs]);
      model.dispose();
      expect(maxAbsDiff(data, expected.logits.flat())).toBeLessThan(2e-3);
      expect(argmaxRows(data, 1000)).toEqual(expected.top1);
    });
  });
}
