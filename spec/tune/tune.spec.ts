// The auto-tuner end to end on a tiny model (the HF ViT fixture, 64x64) and six images: a seeded
// search is deterministic, the output carries the chosen schedule and the search log, and bad input
// is one line.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { buildProgram } from '../../src/cli/convert-with-turbo';
import { runProgram } from '../../src/cli/run';
import { useBackend } from '../../src/runtime/backend';
import { readCalibrationSet } from '../../src/tune/calibration';
import { SEARCHED_SHAPE, SHAPES, weightedSchedule, weightsOf } from '../../src/tune/schedules';
import { splitRows, stratifiedRows, tuneTurbo } from '../../src/tune/tune';
import { Graph } from '../../src/graph/ir';
import { writeGraphModel } from '../../src/graph/model_io';
import { HF_FIXTURES } from '../hf/hf_fixture';
import { dirHash } from '../helpers/dir_hash';

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
    expect(b.log[i].screen.top1).toBe(c.screen.top1);
    expect(b.log[i].screen.kl).toBeCloseTo(c.screen.kl, 9);
  });
  expect(a.log).toHaveLength(6);
  expect(a.chosen.flops).toBeGreaterThanOrEqual(1.3);
  expect(new Set([...a.searchImages, ...a.confirmImages]).size).toBe(6);
  expect(a.searchImages.filter((f) => a.confirmImages.includes(f))).toEqual([]);
  expect(a.confirm.images).toBe(a.confirmImages.length);
  expect(a.confirmImages.length).toBeGreaterThan(0);
  // The choice is scored on every search row, not only on the screening subset.
  expect(a.chosen.search.images).toBe(a.searchImages.length);
});

test('splitRows: disjoint, complete, seeded, and the confirmation share as asked', () => {
  const [search, confirm] = splitRows(500, 4, 0.3);
  expect(confirm).toHaveLength(150);
  expect([...search, ...confirm].sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  expect(splitRows(500, 4, 0.3)).toEqual([search, confirm]);
  expect(splitRows(500, 5, 0.3)[1]).not.toEqual(confirm);
  expect(splitRows(2, 1, 0.3).map((x) => x.length)).toEqual([1, 1]);
});

test('the per-block stage moves one block at a time, refitted to the target, and the log says so', async () => {
  await useBackend('wasm');
  const set = await readCalibrationSet(images, { ...PREP, mean: [...PREP.mean], std: [...PREP.std] });
  // One shape and one alpha: stage 1 scores one candidate per merge variant (6), leaving 2 for the per-block moves.
  const r = await tuneTurbo(model, set, { targetFlops: 1.3, maxEvals: 8, seed: 2, perBlock: true, shapes: SHAPES.filter((s) => s.name === 'constant'), alphas: [1] }).finally(() => set.inputs.dispose());
  const moved = r.log.filter((c) => c.stage === 'per block');
  expect(moved.length).toBeGreaterThan(0);
  for (const c of moved) {
    expect(c.flops).toBeGreaterThanOrEqual(1.3);
    if (c.shape === SEARCHED_SHAPE) expect(c.schedule).toEqual(weightedSchedule(c.weights!, c.level));
    else expect(c.alpha).not.toBe(1); // the other move: a neighbouring alpha
  }
  // The first move changes one block's share of the starting shape, or only alpha.
  const [first] = moved;
  const w0 = weightsOf(r.log[0].schedule);
  if (first.weights) expect(first.weights.filter((w, i) => Math.abs(w - w0[i]) > 1e-12)).toHaveLength(1);
  else expect(first.schedule).toEqual(r.log[0].schedule);
  expect(r.stopped).toContain('maxEvals');
});

test('stratifiedRows: one row per confidence stratum, from least to most confident, returned in row order', () => {
  // Row r's logits put probability rising with r on class 0 (4 classes), listed in a shuffled order.
  const rows = [7, 2, 9, 0, 5, 3, 8, 1, 6, 4];
  const logits = new Float32Array(rows.flatMap((r) => [r, 0, 0, 0]));
  expect(stratifiedRows(rows, logits, 4, 5)).toEqual([1, 3, 5, 7, 9]);
  expect(stratifiedRows(rows, logits, 4, 2)).toEqual([2, 7]);
  expect(stratifiedRows(rows, logits, 4, 10)).toEqual(rows);
});

test('freeBlocks: no candidate of any stage merges in the first blocks, and each still reaches the target', async () => {
  await useBackend('wasm');
  const set = await readCalibrationSet(images, { ...PREP, mean: [...PREP.mean], std: [...PREP.std] });
  const r = await tuneTurbo(model, set, { targetFlops: 1.3, maxEvals: 10, seed: 2, perBlock: true, freeBlocks: 1, shapes: SHAPES.filter((s) => s.name === 'constant'), alphas: [1] }).finally(() => set.inputs.dispose());
  expect(r.log.some((c) => c.stage === 'per block')).toBe(true);
  for (const c of r.log) {
    expect(c.schedule[0]).toBe(0);
    expect(c.flops).toBeGreaterThanOrEqual(1.3);
  }
});

test('a time limit stops the search after the candidate running when it passes', async () => {
  await useBackend('wasm');
  const set = await readCalibrationSet(images, { ...PREP, mean: [...PREP.mean], std: [...PREP.std] });
  const r = await tuneTurbo(model, set, { targetFlops: 1.3, timeLimitSeconds: 0, seed: 1 }).finally(() => set.inputs.dispose());
  // With no time at all, the first candidate is still scored (there must be something to write).
  expect(r.log).toHaveLength(1);
  expect(r.stopped).toBe('time limit of 0 s reached');
  expect(r.chosen.schedule).toEqual(r.log[0].schedule);
});

test('a speed-up target is measured through the shared interleaved timer: a finite ratio, or a refusal that gives it', async () => {
  await useBackend('wasm');
  const set = await readCalibrationSet(images, { ...PREP, mean: [...PREP.mean], std: [...PREP.std] });
  // The outcome depends on this machine's timing, so both are accepted; what is checked is that a
  // real measurement happened and was reported.
  const result = await tuneTurbo(model, set, { targetSpeedup: 1.05, maxEvals: 3, seed: 1 }).then(
    (r) => r.chosen.speedup,
    (e: Error) => {
      const m = /measured (\d+\.\d+)x/.exec(e.message);
      if (!m) throw e;
      return Number(m[1]);
    },
  );
  set.inputs.dispose();
  expect(Number.isFinite(result)).toBe(true);
  expect(result).toBeGreaterThan(0);
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

test('a model without preprocessing.json: that file is named, with what the tuner needs it for', async () => {
  const bare = path.join(HF_FIXTURES, 'vit-small');
  const r = await cli(bare, path.join(tmp, 'out-noprep'), '--target-flops', '1.3', '--calibrate', images);
  expect(r.code).toBe(1);
  expect(r.err).toBe(`error: ${path.join(bare, 'preprocessing.json')}: not found: the tuner preprocesses the calibration images as this file describes\n`);
  expect(fs.existsSync(path.join(tmp, 'out-noprep'))).toBe(false);
});

// Issue 20: the tuner's own reads (labels.csv, preprocessing.json) under the same policy as the
// converter's, its preprocessing values checked before any work, and its metrics before writing.
describe('hostile calibration folders and preprocessing.json', () => {
  const HANG_MS = 15000;
  const PASSWD_FIRST_LINE = fs.readFileSync('/etc/passwd', 'utf8').split('\n')[0];
  const mkfifo = (p: string) => execFileSync('mkfifo', [p]);
  let n = 0;

  /** A fresh copy of the model (with `prep` as preprocessing.json) and of the images, per case. */
  function fixture(prep: unknown = PREP): { model: string; images: string; out: string } {
    const root = path.join(tmp, `hostile-${n++}`);
    fs.cpSync(model, path.join(root, 'model'), { recursive: true });
    fs.writeFileSync(path.join(root, 'model', 'preprocessing.json'), typeof prep === 'string' ? prep : JSON.stringify(prep));
    fs.cpSync(images, path.join(root, 'images'), { recursive: true });
    return { model: path.join(root, 'model'), images: path.join(root, 'images'), out: path.join(root, 'out') };
  }

  /** Runs the tuner's CLI on `f` and checks what every refusal must be: one line, no trace, nothing written, input untouched. */
  async function refused(f: { model: string; images: string; out: string }, ...parts: string[]): Promise<string> {
    const before = [dirHash(f.model), dirHash(f.images)];
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${HANG_MS} ms`)), HANG_MS)));
    const r = await Promise.race([cli(f.model, f.out, '--target-flops', '1.3', '--calibrate', f.images, '--max-evals', '1'), hang]).finally(() => clearTimeout(timer));
    expect(r.code).not.toBe(0);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err).not.toMatch(/\n\s+at |internal error/);
    expect(r.err).not.toContain(PASSWD_FIRST_LINE);
    for (const p of parts) expect(r.err).toContain(p);
    expect(fs.existsSync(f.out)).toBe(false);
    expect([dirHash(f.model), dirHash(f.images)]).toEqual(before);
    return r.err;
  }

  test.each([
    ['a FIFO', (p: string) => mkfifo(p), 'is a FIFO'],
    ['a link to /dev/zero', (p: string) => fs.symlinkSync('/dev/zero', p), 'leaves its directory'],
    ['a link to /etc/passwd', (p: string) => fs.symlinkSync('/etc/passwd', p), 'leaves its directory'],
  ])('labels.csv that is %s is refused unread', async (_, make, problem) => {
    const f = fixture();
    make(path.join(f.images, 'labels.csv'));
    await refused(f, path.join(f.images, 'labels.csv'), problem);
  }, 30000);

  test.each([
    ['a FIFO', (p: string) => mkfifo(p), 'is a FIFO'],
    ['a link to /dev/zero', (p: string) => fs.symlinkSync('/dev/zero', p), 'leaves its directory'],
    ['a link to /etc/passwd', (p: string) => fs.symlinkSync('/etc/passwd', p), 'leaves its directory'],
  ])('preprocessing.json that is %s is refused unread', async (_, make, problem) => {
    const f = fixture();
    fs.rmSync(path.join(f.model, 'preprocessing.json'));
    make(path.join(f.model, 'preprocessing.json'));
    await refused(f, path.join(f.model, 'preprocessing.json'), problem);
  }, 30000);

  test("a copy of /etc/passwd as labels.csv or preprocessing.json: the error quotes none of it", async () => {
    const a = fixture();
    fs.copyFileSync('/etc/passwd', path.join(a.images, 'labels.csv'));
    await refused(a, path.join(a.images, 'labels.csv'), "line 1: the header must name a 'file' and a 'label' column");
    const b = fixture(fs.readFileSync('/etc/passwd', 'utf8'));
    await refused(b, path.join(b.model, 'preprocessing.json'), 'not valid JSON');
  });

  test('labels.csv rows are blamed by line number, not quoted', async () => {
    const f = fixture();
    fs.writeFileSync(path.join(f.images, 'labels.csv'), 'file,label\ncrop0.jpg,1\ncrop1.jpg,secret-label\n');
    const err = await refused(f, 'labels.csv: line 3: the label is not a class index');
    expect(err).not.toContain('secret-label');
  });

  test.each([
    ['center_crop 1e9', { center_crop: 1e9 }, 'center_crop must be an integer from 1 to 8192'],
    ['center_crop 0', { center_crop: 0 }, 'center_crop must be an integer from 1 to 8192'],
    ['a fractional resize', { resize_shortest_side: 64.5 }, 'resize_shortest_side must be an integer'],
    ['a resize given as text', { resize_shortest_side: '64' }, 'resize_shortest_side must be an integer'],
    ['a crop larger than the resize', { resize_shortest_side: 48, center_crop: 64 }, 'center_crop must not be larger than resize_shortest_side'],
    ['std [0, 0, 0]', { std: [0, 0, 0] }, 'std must be greater than 0 in every channel'],
    ['a negative std', { std: [0.5, -0.5, 0.5] }, 'std must be greater than 0'],
    ['mean with 2 entries', { mean: [0.5, 0.5] }, 'mean must be a list of 3 finite numbers'],
    ['an infinite mean (1e999)', '{"resize_shortest_side":64,"center_crop":64,"mean":[1e999,0.5,0.5],"std":[0.5,0.5,0.5]}', 'mean must be a list of 3 finite numbers'],
    ['an unknown interpolation', { interpolation: 'sinc' }, 'interpolation must be one of'],
    ['not an object', [1, 2, 3], 'is not a JSON object'],
  ])('preprocessing.json with %s: one line naming the file and the field, before any work', async (_, edit, problem) => {
    const f = fixture(typeof edit === 'string' || Array.isArray(edit) ? (typeof edit === 'string' ? edit : JSON.stringify(edit)) : { ...PREP, ...edit });
    await refused(f, `${path.join(f.model, 'preprocessing.json')}: ${problem}`);
  });

  test('a crop the model does not take: model.json and center_crop are named', async () => {
    const f = fixture({ ...PREP, resize_shortest_side: 48, center_crop: 48 });
    await refused(f, path.join(f.model, 'model.json'), 'center_crop');
  });

  test('--target-flops on a model without transformer blocks: one line naming model.json', async () => {
    const f = fixture();
    const g = new Graph({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }, []);
    g.addNode({ name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' } } });
    g.addConst('w', 'float32', [2, 2], [1, 0, 0, 1]);
    g.addNode({ name: 'y', op: 'MatMul', input: ['x', 'w'], attr: { T: { type: 'DT_FLOAT' } } });
    fs.rmSync(f.model, { recursive: true });
    await writeGraphModel(g, f.model);
    fs.writeFileSync(path.join(f.model, 'preprocessing.json'), JSON.stringify(PREP));
    await refused(f, `${path.join(f.model, 'model.json')}: no transformer blocks found`);
  });

  test('non-finite logits are refused, not scored as 100 % agreement', async () => {
    await useBackend('wasm');
    const inputs = tf.fill([2, 3, 64, 64], NaN) as tf.Tensor4D;
    try {
      await expect(tuneTurbo(model, { inputs, names: ['a.jpg', 'b.jpg'] }, { targetFlops: 1.3, maxEvals: 1 })).rejects.toThrow(
        `${path.join(model, 'model.json')}: the unmerged model gives non-finite logits (NaN or infinity)`,
      );
    } finally {
      inputs.dispose();
    }
  });
});
