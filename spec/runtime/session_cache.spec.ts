// The session route's graph cache (src/runtime/session/cache.ts), which needs no TensorFlow: entries
// addressed by the model's content, written whole or not at all, and never used when they do not
// check out (the load would otherwise hand TensorFlow a graph that is not the model).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir, rewriteGraph } from '../../src/convert';
import { Graph } from '../../src/graph/ir';
import { readGraphModel } from '../../src/graph/model_io';
import { graphKey, readEntry, sessionGraph } from '../../src/runtime/session/cache';

let tmp: string;
let base: Graph;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-graph-cache-'));
  base = await readGraphModel(embeddedModelDir());
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fresh = (name: string) => fs.mkdtempSync(path.join(tmp, `${name}-`));
const SOURCE = 'model.json';

test('an entry is written under the content key, then found there', () => {
  const cache = fresh('hit');
  const first = sessionGraph(base, SOURCE, cache);
  expect(first.how).toBe('written');
  expect(first.dir).toBe(path.join(cache, graphKey(base)));
  expect(fs.readdirSync(first.dir).sort()).toEqual(['entry.json', 'saved_model.pb', 'variables']);
  expect(first.entry.signature.inputs.pixel_values.name).toBe('pixel_values:0');
  expect(first.entry.placeholders).toEqual({ pixel_values: 'DT_FLOAT' });
  const second = sessionGraph(base, SOURCE, cache);
  expect({ how: second.how, dir: second.dir }).toEqual({ how: 'hit', dir: first.dir });
  // Written whole in a temporary sibling and renamed: nothing else is left in the cache.
  expect(fs.readdirSync(cache)).toEqual([graphKey(base)]);
});

test('a changed model gives a new entry: one weight byte, or the rewrite', async () => {
  const cache = fresh('changed');
  const a = sessionGraph(base, SOURCE, cache);
  const edited = await readGraphModel(embeddedModelDir());
  const w = [...edited.weights.values()].find((x) => x.spec.dtype === 'float32')!;
  w.bytes[0] ^= 1;
  const b = sessionGraph(edited, SOURCE, cache);
  const turbo = await readGraphModel(embeddedModelDir());
  rewriteGraph(turbo, { r: 13, alpha: 1 });
  const c = sessionGraph(turbo, SOURCE, cache);
  expect([b.how, c.how]).toEqual(['written', 'written']);
  expect(new Set([a.dir, b.dir, c.dir]).size).toBe(3);
  expect(c.entry.turboOps).toBe(true);
  expect(fs.readdirSync(cache).sort()).toEqual([a.dir, b.dir, c.dir].map((d) => path.basename(d)).sort());
});

test('a corrupt entry (one byte of saved_model.pb flipped) is not used: it is rebuilt', () => {
  const cache = fresh('corrupt');
  const first = sessionGraph(base, SOURCE, cache);
  const pb = path.join(first.dir, 'saved_model.pb');
  const good = fs.readFileSync(pb);
  const bad = Buffer.from(good);
  bad[bad.length >> 1] ^= 0xff;
  fs.writeFileSync(pb, bad);
  expect(readEntry(first.dir, graphKey(base))).toBeNull();
  const again = sessionGraph(base, SOURCE, cache);
  expect(again.how).toBe('written');
  expect(fs.readFileSync(pb).equals(good)).toBe(true);
  expect(fs.readdirSync(cache)).toEqual([graphKey(base)]);
});

test.each([
  ['saved_model.pb cut short', (dir: string) => fs.truncateSync(path.join(dir, 'saved_model.pb'), 1000)],
  ['no entry.json', (dir: string) => fs.rmSync(path.join(dir, 'entry.json'))],
  ['entry.json cut short', (dir: string) => fs.truncateSync(path.join(dir, 'entry.json'), 20)],
  ['no variables/', (dir: string) => fs.rmSync(path.join(dir, 'variables'), { recursive: true })],
])('a partial entry (%s) is not used: it is rebuilt', (_name, damage) => {
  const cache = fresh('partial');
  const first = sessionGraph(base, SOURCE, cache);
  damage(first.dir);
  expect(readEntry(first.dir, graphKey(base))).toBeNull();
  const again = sessionGraph(base, SOURCE, cache);
  expect(again.how).toBe('written');
  expect(readEntry(again.dir, graphKey(base))).not.toBeNull();
});

test("a crashed writer's temporary directory is neither used nor in the way", () => {
  const cache = fresh('crashed');
  const partial = path.join(cache, `.partial-${graphKey(base).slice(0, 16)}-x`);
  fs.mkdirSync(partial);
  fs.writeFileSync(path.join(partial, 'saved_model.pb'), 'half');
  const made = sessionGraph(base, SOURCE, cache);
  expect({ how: made.how, dir: made.dir }).toEqual({ how: 'written', dir: path.join(cache, graphKey(base)) });
});

test('an unusable cache directory costs a conversion per load, not the load: a temporary directory instead', () => {
  const file = path.join(tmp, 'not-a-directory');
  fs.writeFileSync(file, '');
  const made = sessionGraph(base, SOURCE, file);
  expect(made.how).toBe('temporary');
  expect(readEntry(made.dir, graphKey(base))).not.toBeNull();
  fs.rmSync(made.dir, { recursive: true, force: true });
  const none = sessionGraph(base, SOURCE, false);
  expect(none.how).toBe('temporary');
  fs.rmSync(none.dir, { recursive: true, force: true });
});
