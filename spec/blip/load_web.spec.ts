// The browser loader (loadBlipFromUrl: config, tokenizer and graphs over HTTP, pixels in) serving
// the fixture from a local HTTP server: the same greedy caption and VQA sequences as TF's generate().
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { answerBatch } from '../../src/blip/answer';
import { captionBatch } from '../../src/blip/caption';
import { loadBlipFromUrl } from '../../src/blip/load_web';
import { TurboInputError } from '../../src/errors';
import { useBackend } from '../../src/runtime/backend';
import { BLIP_SMALL, GenerateReference, fixtureImages, readJson } from './blip_fixture';

const reference = readJson<{ generate: Record<string, GenerateReference> }>('reference.json').generate;

describe('BLIP over HTTP (loadBlipFromUrl)', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    await useBackend('wasm');
    const root = path.resolve(BLIP_SMALL);
    server = http.createServer((req, res) => {
      const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      // /size32/...: the fixture with a config.json whose image.size its graphs contradict.
      const size32 = pathname.startsWith('/size32/');
      const file = path.join(root, size32 ? pathname.slice('/size32'.length) : pathname);
      if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      if (size32 && path.basename(file) === 'config.json') {
        const config = JSON.parse(fs.readFileSync(file, 'utf8'));
        res.writeHead(200).end(JSON.stringify({ ...config, image: { ...config.image, size: 32 } }));
        return;
      }
      res.writeHead(200).end(fs.readFileSync(file));
    });
    // Node's 5 s default races fetch's reuse of an idle socket after a slow generate (ECONNRESET);
    // close() still ends idle connections.
    server.keepAliveTimeout = 600_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));


  it('captions and answers as TF generate() does (greedy)', async () => {
    const cap = await loadBlipFromUrl(base, 'caption');
    const c = reference.caption_greedy_noprompt;
    const got = await captionBatch(cap, fixtureImages(), { maxLength: c.kwargs.max_length });
    expect(got.captions.map((x) => x.ids)).toEqual(c.sequences);
    cap.dispose();
    const vqa = await loadBlipFromUrl(base, 'vqa');
    const v = reference.vqa_greedy;
    const a = await answerBatch(vqa, fixtureImages(), v.questions!, { maxLength: v.kwargs.max_length });
    expect(a.answers.map((x) => x.ids)).toEqual(v.sequences);
    vqa.dispose();
  });

  it('files are refused with a message (the web loader takes pixels), a missing file names its URL', async () => {
    const cap = await loadBlipFromUrl(base, 'caption');
    await expect(captionBatch(cap, ['photo.jpg'])).rejects.toThrow(/takes preprocessed pixels/);
    cap.dispose();
    await expect(loadBlipFromUrl(`${base}nothing/`, 'caption')).rejects.toThrow(/nothing\/config\.json: HTTP 404/);
  });

  it('a config.json its graphs contradict is refused, naming its URL and the field', async () => {
    await expect(loadBlipFromUrl(`${base}size32/`, 'caption')).rejects.toThrow(
      new TurboInputError(`${base}size32/config.json`, 'image.size is 32, but caption/vision takes 64x64 pixels'),
    );
  });
});
