// --strip is the exact inverse of the rewrite down to the bytes: the original model.json text (node
// order, Python's float spelling) and the original shards, for a tensorflowjs_converter graph and
// for the embedded model our checkpoint converter wrote.
import * as fsp from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir, convertWithTurbo, stripTurboModel } from '../../src/convert';
import { HF_FIXTURES } from '../hf/hf_fixture';

let tmp: string;
beforeAll(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'turbo-strip-'));
});
afterAll(async () => {
  await fsp.rm(tmp, { recursive: true, force: true });
});

test.each([
  ['HF ViT (tensorflowjs_converter)', path.join(HF_FIXTURES, 'vit-small')],
  ['embedded ViT-Tiny', embeddedModelDir()],
])('strip(convert(m)) has the bytes of m: %s', async (name, dir) => {
  const turbo = path.join(tmp, `${name.length}-turbo`);
  const stripped = path.join(tmp, `${name.length}-stripped`);
  await convertWithTurbo(dir, turbo, { r: 4, alpha: 5 });
  await stripTurboModel(turbo, stripped);
  const names = (await fsp.readdir(stripped)).sort();
  const modelFiles = (await fsp.readdir(dir)).filter((f) => f === 'model.json' || f.endsWith('.bin')).sort();
  expect(names.filter((f) => modelFiles.includes(f))).toEqual(modelFiles);
  for (const f of modelFiles) {
    const [a, b] = await Promise.all([fsp.readFile(path.join(dir, f)), fsp.readFile(path.join(stripped, f))]);
    expect({ f, same: a.equals(b) }).toEqual({ f, same: true });
  }
});
