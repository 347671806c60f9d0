// TurboDropTokens (BLIP's text side) in headless Chromium through the webgl and webgpu kernels:
// against the cpu kernel on BLIP-sized layers and on ties and clamps (the same kept indices in
// order, the gathered tokens and mask entries equal, no read-back, no kernel but TurboDropTokens),
// and inside the small BLIP fixture's text graphs against the recorded reference
// (text-drop-reference.json: HF's TF layers run one by one, ranking in numpy), every setting.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { bundleForBrowser, chromiumPath, launchChromium, Server, serveStatic } from '../../scripts/browser/harness';
import { readGraphModel, writeGraphModel } from '../../src/graph/model_io';
import { applyTextDrop } from '../../src/rewrite/text_drop';
import { required } from '../helpers/required';
import { ArrayData, BLIP_SMALL, GraphReference, readJson } from '../blip/blip_fixture';
import type { GraphDropRequest } from './drop_page';

interface DropReference {
  inputs: Record<string, { graph: string; case: string }>;
  results: Record<string, Record<string, { setting: { dropRate: number; dropMax: number; rank: 'all' | 'first' }; keptIndices: number[][][] }>>;
}

let tmp: string;
let server: Server;
let browser: Browser;
let page: Page;
const dropRef = readJson<DropReference>('text-drop-reference.json');
const graphs = readJson<{ graphs: Record<string, GraphReference> }>('reference.json').graphs;
/** One text-drop graph per reference result: where it is served, its feeds, its drop nodes' kept outputs, the expected indices. */
const graphCases: { key: string; setting: string; req: Omit<GraphDropRequest, 'backend'>; expected: number[][][] }[] = [];

beforeAll(async () => {
  chromiumPath(); // fail first, and loudly, when Chromium is missing
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-drop-browser-'));
  await bundleForBrowser(path.join(__dirname, 'drop_page.ts'), path.join(tmp, 'site', 'page.js'));
  fs.copyFileSync(path.join(__dirname, 'page.html'), path.join(tmp, 'site', 'index.html'));
  for (const [key, settings] of Object.entries(dropRef.results)) {
    const { graph: graphName, case: caseName } = dropRef.inputs[key];
    const feeds = graphs[graphName].cases[caseName].inputs as Record<string, ArrayData>;
    for (const [setting, ref] of Object.entries(settings)) {
      const graph = await readGraphModel(path.join(BLIP_SMALL, graphName));
      const { dropNodes } = applyTextDrop(graph, { dropRate: ref.setting.dropRate, dropMax: ref.setting.dropMax, firstTokenOnly: ref.setting.rank === 'first' });
      const dir = `${key}-${setting}`;
      await writeGraphModel(graph, path.join(tmp, 'models', dir));
      // The reference records every layer; the last one has no drop node (nothing reads its result).
      const expected = ref.keptIndices.slice(0, dropNodes.length);
      graphCases.push({ key, setting, req: { modelUrl: `/models/${dir}/model.json`, feeds, keptOutputs: dropNodes.map((n) => `${n}:2`) }, expected });
    }
  }
  server = await serveStatic({ '/': path.join(tmp, 'site'), '/models': path.join(tmp, 'models') });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.turboDropPage !== undefined);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Whether `backend` runs in this Chromium; webgpu without an adapter fails where CI requires it and is reported elsewhere. */
async function gpuBackendHere(backend: string): Promise<boolean> {
  if (await page.evaluate((b) => window.turboDropPage.hasBackend(b), backend)) return true;
  if (backend === 'webgl' || required('webgpu')) throw new Error(`${backend}: not available in this Chromium`);
  console.warn(`NOT TESTED: ${backend}: no adapter in this Chromium`);
  return false;
}

describe.each(['webgl', 'webgpu'])('%s TurboDropTokens kernel', (backend) => {
  test('the cpu kernel\'s kept tokens in order, tokens and mask gathered exactly; no read-back, no other kernel', async () => {
    if (!(await gpuBackendHere(backend))) return;
    const cases = await page.evaluate((b) => window.turboDropPage.fusedDropCases(b), backend);
    expect(cases.length).toBeGreaterThanOrEqual(7);
    for (const c of cases) {
      console.log(`${backend} ${c.name}: keep ${c.keep}, kept equal ${c.keptEqual}, tokens diff ${c.tokensDiff}, mask diff ${c.maskDiff}, reads ${c.reads}`);
      expect({ name: c.name, fused: c.fused, kernels: c.kernels, reads: c.reads, keptEqual: c.keptEqual, shapesEqual: c.shapesEqual }).toEqual({
        name: c.name,
        fused: true,
        kernels: ['TurboDropTokens'],
        reads: 0,
        keptEqual: true,
        shapesEqual: true,
      });
      // Gathers copy values: bit-equal.
      expect(c.tokensDiff).toBe(0);
      expect(c.maskDiff).toBe(0);
    }
  });

  test('inside the BLIP fixture\'s text graphs (ITM, caption decoder, VQA question; 2 settings x sum/first-token): the reference\'s kept tokens per layer, in order', async () => {
    if (!(await gpuBackendHere(backend))) return;
    expect(graphCases).toHaveLength(12);
    for (const { key, setting, req, expected } of graphCases) {
      const got = await page.evaluate((r) => window.turboDropPage.graphKeptIndices(r), { ...req, backend });
      expect({ key, setting, fused: got.fused }).toEqual({ key, setting, fused: true });
      expect(got.keptIndices).toHaveLength(2);
      expect({ key, setting, kept: got.keptIndices }).toEqual({ key, setting, kept: expected });
    }
  });
});
