// The browser loader (loadBlipFromUrl: config, tokenizer and graphs over HTTP, pixels in) serving
// the fixture from a local HTTP server: the same greedy caption and VQA sequences as TF's generate().
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { answerBatch } from '../../src/blip/answer';
import { captionBatch } from '../../src/blip/caption';
import { loadBlipFromUrl } from '../../src/blip/load_web';
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
      const file = path.join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200).end(fs.readFileSync(file));
    });
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
});
