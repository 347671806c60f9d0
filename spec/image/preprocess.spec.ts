// Our sharp preprocessing against the PIL/torchvision preprocessing that produced the official
// parity inputs (../shared/parity/vit-tiny-inputs.f32), on the same 8 real photos.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Preprocessing, preprocessImage, resizedSize } from '../../src/image/preprocess';
import { cropOffsets, preprocessingProblem } from '../../src/image/preprocessing';
import { FIXTURES } from '../helpers/parity';

const parity = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'parity', 'vit-tiny-turbo.json'), 'utf8'));
const raw = fs.readFileSync(path.join(FIXTURES, 'parity', 'vit-tiny-inputs.f32'));
const reference = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const prep: Preprocessing = { resize_shortest_side: 248, center_crop: 224, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

test('resize follows torchvision Resize(248): short side 248, long side truncated', () => {
  expect(resizedSize(299, 299, 248)).toEqual({ width: 248, height: 248 });
  expect(resizedSize(640, 480, 248)).toEqual({ width: 330, height: 248 });
  expect(resizedSize(480, 640, 248)).toEqual({ width: 248, height: 330 });
});

const images: [string, number][] = parity.inputs.images.map((f: string, i: number) => [f, i]);

test.each(images)('%s matches the PIL bicubic reference', async (file, i) => {
  const ours = await preprocessImage(path.join(FIXTURES, 'images', file), prep);
  const plane = 3 * 224 * 224;
  const ref = reference.subarray(i * plane, (i + 1) * plane);
  let sum = 0;
  let max = 0;
  for (let k = 0; k < plane; k++) {
    const d = Math.abs(ours[k] - ref[k]);
    sum += d;
    max = Math.max(max, d);
  }
  const mean = sum / plane;
  console.log(`${file}: mean abs diff ${mean.toFixed(5)}, max ${max.toFixed(4)} (1 grey level = ${(2 / 255).toFixed(4)})`);
  // Different resampling libraries: small per-pixel differences, no shifts or channel swaps.
  expect(mean).toBeLessThan(1 / 255);
});

test('an image path that is a FIFO is refused, not handed to sharp to block on', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-prep-'));
  try {
    const fifo = path.join(dir, 'photo.jpg');
    execFileSync('mkfifo', [fifo]);
    await expect(preprocessImage(fifo, prep)).rejects.toThrow(`${fifo}: is a FIFO, expected a regular file`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 15000);

test('preprocessing values given in code are checked like preprocessing.json', async () => {
  const photo = path.join(FIXTURES, 'images', images[0][0]);
  await expect(preprocessImage(photo, { ...prep, center_crop: 1e9 })).rejects.toThrow('preprocessing: center_crop must be an integer from 1 to 8192');
  expect(preprocessingProblem({ ...prep, std: [0, 0, 0] })).toBe('std must be greater than 0 in every channel');
  expect(preprocessingProblem(prep)).toBeUndefined();
});

test("the centre crop's offsets are torchvision's int(round((size - crop) / 2.0)), halves to even (values from Python 3.11)", () => {
  const cases: [number, number, number, number, number][] = [
    [329, 248, 224, 52, 12],
    [331, 248, 224, 54, 12],
    [225, 226, 224, 0, 1],
    [229, 230, 224, 2, 3],
    [5, 6, 4, 0, 1],
  ];
  for (const [width, height, crop, left, top] of cases) expect([width, height, crop, cropOffsets({ width, height }, crop)]).toEqual([width, height, crop, { left, top }]);
});
