// models/vit-tiny-patch16-224 is what the converter makes of shared/'s checkpoint today: a converter
// change that alters the graph must come with a regenerated model (scripts/convert-embedded-model.ts).

import * as fs from 'fs';
import * as path from 'path';
import { convertVitCheckpointTo } from '../../converters/vit';
import { tmpDir } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const MODEL_DIR = path.join(ROOT, 'models', 'vit-tiny-patch16-224');
const SOURCE = path.resolve(ROOT, '..', 'shared', 'models', 'vit-tiny-patch16-224');

const hasSource = fs.existsSync(path.join(SOURCE, 'model.safetensors'));

(hasSource ? test : test.skip)('the committed embedded model is up to date with the converter', async () => {
  const tmp = tmpDir('turbo-embedded-');
  try {
    const out = path.join(tmp, 'model');
    await convertVitCheckpointTo(path.join(SOURCE, 'model.safetensors'), path.join(SOURCE, 'config.json'), out);
    const files = fs.readdirSync(out).sort();
    expect(files).toEqual(fs.readdirSync(MODEL_DIR).filter((f) => f === 'model.json' || f.endsWith('.bin')).sort());
    const stale = files.filter((f) => !fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(MODEL_DIR, f))));
    expect(stale).toEqual([]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('the embedded model directory has its companions', () => {
  for (const f of ['imagenet-classes.txt', 'preprocessing.json', 'meta.json', 'README.md']) expect(fs.existsSync(path.join(MODEL_DIR, f))).toBe(true);
  expect(fs.readFileSync(path.join(MODEL_DIR, 'imagenet-classes.txt'), 'utf8').trimEnd().split('\n')).toHaveLength(1000);
  expect(JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'preprocessing.json'), 'utf8'))).toMatchObject({ resize_shortest_side: 248, center_crop: 224 });
});
