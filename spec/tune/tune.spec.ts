// The auto-tuner end to end on a tiny model (the HF ViT fixture, 64x64) and six images: a seeded
// search is deterministic, the output carries the chosen schedule and the search log, and bad input
// is one line.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { buildProgram } from '../../src/cli/convert-with-turbo';
import { runProgram } from '../../src/cli/run';
import { useBackend } from '../../src/runtime/backend';
import { readCalibrationSet } from '../../src/tune/calibration';
import { tuneTurbo } from '../../src/tune/tune';
import { HF_FIXTURES } from '../hf/hf_fixture';

const HARE = path.join(__dirname, '..', '..', 'assets', 'hare.jpg');
const PREP = { resize_shortest_side: 64, center_crop: 64, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } as const;

let tmp: string;
let model: string;
let images: string;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-tune-'));
  model = path.join(tmp, 'model');
  fs.mkdirSync(model);
  for (const f of ['model.json', 'group1-shard1of1.bin']) fs.copyFileSync(path.join(HF_FIXTURES, 'vit-small', f), path.join(model, f));
  fs.writeFileSync(path.join(model, 'preprocessing.json'), JSON.stringify(PREP));
  images = path.join(tmp, 'images');
  fs.mkdirSync(images);
  const { width, height } = await sharp(HARE).metadata();
  for (let i = 0; i < 6; i++) {
    const size = 120 + 20 * i; // six different crops of the bundled photo
    await sharp(HARE).extract({ left: (i * 37) % (width! - size), top: (i * 53) % (height! - size), width: size, height: size }).jpeg().toFile(path.join(images, `crop${i}.jpg`));
  }
  fs.mkdirSync(path.join(tmp, 'empty'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => jest.spyOn(console, 'log').mockImplementation(() => undefined));
afterEach(() => jest.restoreAllMocks());

async function cli(...args: string[]) {
  let err = '';
  const code = await runProgram(buildProgram(), args, { err: (s) => (err += s) });
  return { code, err };
}

test('a seeded FLOP-target search is deterministic and confirms on unseen images', async () => {
  await useBackend('wasm');
  const set = await readCalibrationSet(images, { ...PREP, mean: [...PREP.mean], std: [...PREP.std] });
  const a = await tuneTurbo(model, set, { targetFlops: 1.3, maxEvals: 6, seed: 3 });
  const b = await tuneTurbo(model, set, { targetFlops: 1.3, maxEvals: 6, seed: 3 });
  set.inputs.dispose();
  // The decisions repeat exactly; scores to 1e-9 (TensorFlow's threaded sums may reorder).
  const decisions = (r: typeof a) => ({ chosen: [r.chosen.shape, r.chosen.schedule, r.chosen.alpha], split: [r.searchImages, r.confirmImages], tried: r.log.map((c) => [c.shape, c.alpha]) });
  expect(decisions(b)).toEqual(decisions(a));
  a.log.forEach((c, i) => {
    expect(b.log[i].search.top1).toBe(c.search.top1);
    expect(b.log[i].search.kl).toBeCloseTo(c.search.kl, 9);
  });
  expect(a.log).toHaveLength(6);
  expect(a.chosen.flops).toBeGreaterThanOrEqual(1.3);
  expect(new Set([...a.searchImages, ...a.confirmImages]).size).toBe(6);
  expect(a.searchImages.filter((f) => a.confirmImages.includes(f))).toEqual([]);
  expect(a.confirm.images).toBe(3);
});

test('the CLI writes the tuned model, its settings and the search log', async () => {
  const out = path.join(tmp, 'tuned');
  const r = await cli(model, out, '--target-flops', '1.3', '--calibrate', images, '--max-evals', '4', '--backend', 'wasm');
  expect(r).toEqual({ code: 0, err: '' });
  const meta = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')).userDefinedMetadata.turbo;
  const tuneLog = JSON.parse(fs.readFileSync(path.join(out, 'turbo-tune.json'), 'utf8'));
  expect(meta.schedule).toEqual(tuneLog.chosen.schedule);
  expect(meta.alpha).toBe(tuneLog.chosen.alpha);
  expect(meta.tuning).toMatchObject({ target: { flops: 1.3 }, calibrationImages: 6 });
  expect(tuneLog.log).toHaveLength(4);
});

test('fixed settings (--portable, --beta, ...) are scored and written as given', async () => {
  const out = path.join(tmp, 'tuned-portable');
  const r = await cli(model, out, '--target-flops', '1.3', '--calibrate', images, '--max-evals', '2', '--portable', '--beta', '0.9', '--no-prop-attn');
  expect(r).toEqual({ code: 0, err: '' });
  const j = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
  expect(j.userDefinedMetadata.turbo).toMatchObject({ portable: true, beta: 0.9, propAttn: false });
  expect(j.modelTopology.node.filter((n: { op: string }) => n.op.startsWith('Turbo'))).toEqual([]);
});

test('labels.csv cannot point outside the calibration folder', async () => {
  const dir = path.join(tmp, 'escape');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(images, 'crop0.jpg'), path.join(dir, 'a.jpg'));
  fs.writeFileSync(path.join(dir, 'labels.csv'), `file,label\na.jpg,1\n../images/crop1.jpg,2\n`);
  const r = await cli(model, path.join(tmp, 'out-escape'), '--target-flops', '1.3', '--calibrate', dir);
  expect(r.code).not.toBe(0);
  expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  expect(r.err).toContain('labels.csv');
  expect(r.err).toContain("'..'");
  fs.writeFileSync(path.join(dir, 'labels.csv'), `file,label\na.jpg,1\nlink.jpg,2\n`);
  fs.symlinkSync(path.join(images, 'crop1.jpg'), path.join(dir, 'link.jpg'));
  const r2 = await cli(model, path.join(tmp, 'out-escape'), '--target-flops', '1.3', '--calibrate', dir);
  expect(r2.err).toContain('leaves its directory');
});

describe('bad input is one line', () => {
  test.each([
    [['--target-flops', '1.3', '--calibrate', 'EMPTY'], 'needs at least 2'],
    [['--target-flops', '1.3', '--calibrate', 'MISSING'], 'not found'],
    [['--target-flops', '1.3'], '--calibrate'],
    [['--target-flops', '19', '--calibrate', 'IMAGES'], 'out of reach'],
    [['--target-flops', '1.3', '--r', '4', '--calibrate', 'IMAGES'], 'cannot be used with'],
    [['--target-speedup', '0.5', '--calibrate', 'IMAGES'], '--target-speedup'],
  ])('%j', async (args, problem) => {
    const dirs: Record<string, string> = { EMPTY: path.join(tmp, 'empty'), MISSING: path.join(tmp, 'nowhere'), IMAGES: images };
    const r = await cli(model, path.join(tmp, 'out-bad'), ...args.map((a) => dirs[a] ?? a));
    expect(r.code).not.toBe(0);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).toContain(problem);
    expect(r.err).not.toContain('internal error');
    expect(fs.existsSync(path.join(tmp, 'out-bad'))).toBe(false);
  });
});
