// loadClassNames over HTTP (the fetch a page makes): the embedded ViT-Tiny's imagenet-classes.txt,
// labels.txt when that is what the converter copied, and one-line errors naming the URL.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { serveStatic, Server } from '../../scripts/browser/harness';
import { loadClassNames, parseClassNames } from '../../src/image/class_names_web';

const MODEL_DIR = path.join(__dirname, '..', '..', 'models', 'vit-tiny-patch16-224');
let tmp: string;
let server: Server;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-classes-'));
  fs.mkdirSync(path.join(tmp, 'labels'));
  fs.writeFileSync(path.join(tmp, 'labels', 'labels.txt'), 'cat\r\ndog\r\n');
  fs.mkdirSync(path.join(tmp, 'none'));
  server = await serveStatic({ '/vit': MODEL_DIR, '/m': tmp });
});

afterAll(async () => {
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the embedded ViT-Tiny: 1000 ImageNet names in logit order, from the model.json URL or the directory URL', async () => {
  const names = await loadClassNames(`${server.url}/vit/model.json`);
  expect(names).toHaveLength(1000);
  expect(names[0]).toBe('tench');
  expect(names[1]).toBe('goldfish');
  expect(await loadClassNames(`${server.url}/vit`)).toEqual(names);
});

test('labels.txt when there is no imagenet-classes.txt; CRLF and the final newline are not names', async () => {
  expect(await loadClassNames(`${server.url}/m/labels/`)).toEqual(['cat', 'dog']);
});

test('no class names next to the model: one line naming the directory and both statuses', async () => {
  const err = await loadClassNames(`${server.url}/m/none/model.json`).catch((e: Error) => e);
  expect((err as Error).message).toBe(`${server.url}/m/none/: no class names next to the model (imagenet-classes.txt HTTP 404, labels.txt HTTP 404)`);
});

test('an empty line inside the list is refused with its line number', () => {
  expect(() => parseClassNames('a\n\nc\n', 'x/labels.txt')).toThrow('x/labels.txt: line 2 is empty: expected one class name per line');
});
