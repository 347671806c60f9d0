// Score PiToMe and merge MLERP in headless Chromium on webgl and webgpu: the GPU kernels hand these
// choices to the composite kernel (matching read back to src/turbo/merge.ts, MLERP as tfjs ops on
// the GPU), checked against the cases recorded from the official PiToMe code
// (spec/fixtures/parity/pitome-cases.json) with the tolerance of the Node suites.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { bundleForBrowser, chromiumPath, launchChromium, Server, serveStatic } from '../../scripts/browser/harness';
import { required } from '../helpers/required';
import { loadPitomeCases } from '../ops/helpers';
import { PITOME_TOL } from '../ops/pitome_case';

const PITOME_CASES = loadPitomeCases();

let tmp: string;
let server: Server;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  chromiumPath();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-pitome-browser-'));
  await bundleForBrowser(path.join(__dirname, 'pitome_page.ts'), path.join(tmp, 'site', 'page.js'));
  fs.copyFileSync(path.join(__dirname, 'page.html'), path.join(tmp, 'site', 'index.html'));
  server = await serveStatic({ '/': path.join(tmp, 'site'), '/cases.json': path.join(__dirname, '..', 'fixtures', 'parity', 'pitome-cases.json') });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.turboPitomePage !== undefined);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function gpuBackendHere(backend: string): Promise<boolean> {
  if (await page.evaluate((b) => window.turboPitomePage.hasBackend(b), backend)) return true;
  if (backend === 'webgl' || required('webgpu')) throw new Error(`${backend}: not available in this Chromium`);
  console.warn(`NOT TESTED: ${backend}: no adapter in this Chromium`);
  return false;
}

test.each(['webgl', 'webgpu'])('%s: the recorded PiToMe and MLERP cases in token order, sizes exact, nothing leaked', async (backend) => {
  if (!(await gpuBackendHere(backend))) return;
  const results = await page.evaluate((b) => window.turboPitomePage.pitomeCases(b, '/cases.json'), backend);
  expect(results).toHaveLength(PITOME_CASES.length);
  console.log(`${backend}: max |x - official| over ${results.length} recorded cases = ${Math.max(...results.map((r) => r.maxDiff)).toExponential(2)}`);
  results.forEach((r, i) => {
    expect({ i, tokensOut: r.tokensOut, sizesEqual: r.sizesEqual, leaked: r.leaked }).toEqual({ i, tokensOut: PITOME_CASES[i].N - PITOME_CASES[i].r, sizesEqual: true, leaked: 0 });
    expect(r.maxDiff).toBeLessThanOrEqual(PITOME_TOL);
  });
});
