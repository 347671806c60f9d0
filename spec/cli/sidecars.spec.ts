// convert-with-turbo copies the model's preprocessing.json and class names into the output (so a
// web page loads everything from the Turbo model's URL), and refuses a sidecar that is not a file.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir, convertWithTurbo } from '../../src/convert';
import { dirHash } from '../helpers/dir_hash';

let tmp: string;
beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-sidecars-'))));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the Turbo model directory holds preprocessing.json and imagenet-classes.txt, byte for byte', async () => {
  const out = path.join(tmp, 'turbo');
  await convertWithTurbo(embeddedModelDir(), out, { r: 16, alpha: 5 });
  for (const name of ['preprocessing.json', 'imagenet-classes.txt']) {
    expect(fs.readFileSync(path.join(out, name))).toEqual(fs.readFileSync(path.join(embeddedModelDir(), name)));
  }
  expect(fs.existsSync(path.join(out, 'labels.txt'))).toBe(false); // only what the input has
});

test('a sidecar that is a directory is refused, and nothing is written', async () => {
  const input = path.join(tmp, 'in');
  fs.mkdirSync(input);
  for (const f of fs.readdirSync(embeddedModelDir())) {
    if (f.endsWith('.json') || f.endsWith('.bin')) fs.copyFileSync(path.join(embeddedModelDir(), f), path.join(input, f));
  }
  fs.rmSync(path.join(input, 'preprocessing.json'));
  fs.mkdirSync(path.join(input, 'preprocessing.json'));
  const out = path.join(tmp, 'out');
  await expect(convertWithTurbo(input, out, { r: 8 })).rejects.toThrow(/preprocessing\.json: is a directory, expected a regular file/);
  expect(fs.existsSync(out)).toBe(false);
});

test('a preprocessing.json that would break its users (std 0) is refused before it is copied; the input is untouched', async () => {
  const input = path.join(tmp, 'in-std');
  fs.mkdirSync(input);
  for (const f of fs.readdirSync(embeddedModelDir())) {
    if (f.endsWith('.json') || f.endsWith('.bin')) fs.copyFileSync(path.join(embeddedModelDir(), f), path.join(input, f));
  }
  const prep = JSON.parse(fs.readFileSync(path.join(input, 'preprocessing.json'), 'utf8'));
  fs.writeFileSync(path.join(input, 'preprocessing.json'), JSON.stringify({ ...prep, std: [0, 0, 0] }));
  const before = dirHash(input);
  const out = path.join(tmp, 'out-std');
  await expect(convertWithTurbo(input, out, { r: 8 })).rejects.toThrow(`${path.join(input, 'preprocessing.json')}: std must be greater than 0 in every channel`);
  expect(fs.existsSync(out)).toBe(false);
  expect(dirHash(input)).toBe(before);
});
