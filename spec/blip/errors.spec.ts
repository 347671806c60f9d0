// One-line errors naming the file and the problem: a missing tokenizer.json, a text longer than the
// model's positions, an image that cannot be decoded; and the CLI's exit code for them.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadBlip, readBlipTopFiles } from '../../src/blip/load';
import { blipPixels } from '../../src/blip/image';
import { buildProgram } from '../../src/cli/blip-turbo';
import { runProgram } from '../../src/cli/run';
import { useBackend } from '../../src/runtime/backend';
import { BLIP_SMALL } from './blip_fixture';

function copyTop(dir: string, skip: string[] = []): void {
  for (const f of ['config.json', 'tokenizer.json']) if (!skip.includes(f)) fs.copyFileSync(path.join(BLIP_SMALL, f), path.join(dir, f));
}

describe('BLIP input errors', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'blip-errors-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a missing tokenizer.json is named', async () => {
    copyTop(tmp, ['tokenizer.json']);
    await expect(loadBlip(tmp, 'caption')).rejects.toThrow(`${path.join(tmp, 'tokenizer.json')}: not found`);
  });

  it('a tokenizer.json that is not one is named', async () => {
    copyTop(tmp, ['tokenizer.json']);
    fs.writeFileSync(path.join(tmp, 'tokenizer.json'), '{"version": "1.0"}');
    await expect(readBlipTopFiles(tmp)).rejects.toThrow(/tokenizer\.json: not a tokenizer\.json/);
  });

  it('a text longer than the position embeddings is refused, not cut', async () => {
    const { config, tokenizer } = await readBlipTopFiles(BLIP_SMALL);
    const long = Array.from({ length: config.maxTextLength }, () => 'dog').join(' ');
    expect(() => tokenizer.encode(long)).toThrow(new RegExp(`tokenizer\\.json: text "dog dog.*" is ${config.maxTextLength + 2} tokens, the model allows at most ${config.maxTextLength}`));
    expect(tokenizer.encode('a dog').length).toBeLessThanOrEqual(config.maxTextLength);
  });

  it('an image that cannot be decoded is named', async () => {
    const bad = path.join(tmp, 'broken.jpg');
    fs.writeFileSync(bad, 'not a jpeg at all');
    await expect(blipPixels(bad, { size: 64, mean: [0, 0, 0], std: [1, 1, 1] })).rejects.toThrow(new RegExp(`${bad}: cannot decode image`));
    await expect(blipPixels(path.join(tmp, 'absent.png'), { size: 64, mean: [0, 0, 0], std: [1, 1, 1] })).rejects.toThrow(/absent\.png: image not found/);
  });

  it('the CLI prints one line and exits 1', async () => {
    const bad = path.join(tmp, 'broken.png');
    fs.writeFileSync(bad, 'garbage');
    let err = '';
    const code = await runProgram(buildProgram(() => undefined), ['caption', BLIP_SMALL, bad, '--backend', 'cpu'], { err: (s) => (err += s) });
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain(`${bad}: cannot decode image`);
  });
});

describe('generation settings the loop cannot honour are refused before any work', () => {
  it('max length at or below the prompt, above the positions, beams below 1', async () => {
    const { caption } = await import('../../src/blip/caption');
    const model = await loadBlip(BLIP_SMALL, 'caption');
    const pixels = new Float32Array(3 * 64 * 64);
    const positions = model.config.maxTextLength;
    await expect(caption(model, pixels, { maxLength: 1 })).rejects.toThrow(/^maxLength: 1 must be a whole number above the prompt's 1 token/);
    // The library names its own option keys; only the CLI speaks of --max-length.
    await expect(caption(model, pixels, { maxLength: 1 })).rejects.toMatchObject({ kind: 'options', option: 'maxLength' });
    await expect(caption(model, pixels, { maxLength: positions + 2 })).rejects.toThrow(new RegExp(`at most ${positions + 1} \\(the model has ${positions} positions\\)`));
    await expect(caption(model, pixels, { maxLength: 4, prompt: 'a picture of two dogs' })).rejects.toThrow(/above the prompt's/);
    await expect(caption(model, pixels, { beams: 0 })).rejects.toThrow(/^beams: 0 must be a whole number of at least 1/);
    model.dispose();
  });
});

describe('a failed read-back of the image embeddings leaks nothing (issue 26, item 6)', () => {
  beforeAll(() => useBackend('cpu'));
  it.each(['caption', 'vqa'] as const)('%s', async (task) => {
    const { captionBatch } = await import('../../src/blip/caption');
    const { answerBatch } = await import('../../src/blip/answer');
    const model = await loadBlip(BLIP_SMALL, task);
    // The vision encoder's output, whose read-back fails as on a lost WebGL context.
    const vision = model.graphs.vision;
    const execute = vision.execute.bind(vision);
    vision.execute = ((...args: Parameters<typeof execute>) => {
      const out = execute(...args);
      for (const t of [out].flat()) t.data = () => Promise.reject(new Error('context lost'));
      return out;
    }) as typeof vision.execute;
    const before = tf.memory().numTensors;
    const pixels = [new Float32Array(3 * 64 * 64)];
    const run = task === 'caption' ? captionBatch(model, pixels) : answerBatch(model, pixels, ['what is it?']);
    await expect(run).rejects.toThrow('context lost');
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
