// The README's main job (npm start): convert the embedded ViT-Tiny with Turbo, classify the
// bundled photo with both models, report the speed-up. The photo is a hare (ImageNet class 331).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { buildDemoProgram } from '../../src/cli/demo';
import { runProgram } from '../../src/cli/run';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-demo-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('classifies the bundled hare with the original and the Turbo model and reports the speed-up', async () => {
  const lines: string[] = [];
  let err = '';
  const code = await runProgram(buildDemoProgram((l) => lines.push(l)), ['--out', path.join(tmp, 'turbo'), '--rounds', '1'], {
    err: (s) => (err += s),
  });
  expect({ code, err }).toEqual({ code: 0, err: '' });
  expect(lines.find((l) => l.startsWith('tokens after each block'))).toContain('181 165 149');
  expect(lines.find((l) => l.startsWith('original'))).toMatch(/top-5: hare \(/);
  expect(lines.find((l) => l.startsWith('turbo'))).toMatch(/top-5: hare \(/);
  expect(lines[lines.length - 1]).toMatch(/speed-up \d+\.\d\dx/);
  expect(fs.existsSync(path.join(tmp, 'turbo', 'model.json'))).toBe(true);
  // Both models, the input and every softmax disposed: the demo leaves no tensor behind.
  expect(tf.memory().numTensors).toBe(0);
});

test('a missing image is a one-line error', async () => {
  let err = '';
  const code = await runProgram(buildDemoProgram(() => undefined), [path.join(tmp, 'nope.jpg'), '--out', path.join(tmp, 'turbo')], {
    err: (s) => (err += s),
  });
  expect(code).not.toBe(0);
  expect(err.trimEnd().split('\n')).toHaveLength(1);
  expect(err).toContain('nope.jpg: image not found');
});
