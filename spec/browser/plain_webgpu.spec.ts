// The Turbo ViT-Tiny on webgpu in a Chromium started with only the plain WebGPU flag
// (--enable-unsafe-webgpu; no --use-vulkan=swiftshader, no --use-webgpu-adapter), as a web
// developer would start it: loadTurboModel, warmup() and a run through the public API finish,
// nothing reads the GPU synchronously (tfjs's readSync), and the logits are Node's within 1e-4.
// With these flags a synchronous read-back (dataSync inside a kernel) used to read zeros and then
// crash warmup() (issue 22). No flag-specific code: the same page as spec/browser/browser.spec.ts.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { Browser, Page } from 'playwright-core';
import { bundleForBrowser, chromiumPath, launchChromium, Server, serveStatic, wasmDir } from '../../scripts/browser/harness';
import { convertWithTurbo, embeddedModelDir } from '../../src/convert';
import { packageRoot } from '../../src/paths';
import { loadTurboModel } from '../../src/runtime/load';
import { useBackend } from '../../src/runtime/backend';
import { required } from '../helpers/required';

const INPUTS = path.join(packageRoot(), 'spec', 'fixtures', 'parity', 'vit-tiny-inputs.f32');

let tmp: string;
let server: Server;
let browser: Browser;
let page: Page;
let nodeLogits: Float32Array;
const errors: string[] = [];

beforeAll(async () => {
  chromiumPath(); // fail first, and loudly, when Chromium is missing
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-plain-webgpu-'));
  const turbo = path.join(tmp, 'turbo');
  await convertWithTurbo(embeddedModelDir(), turbo, { r: 16, alpha: 5 });
  await bundleForBrowser(path.join(__dirname, 'page.ts'), path.join(tmp, 'site', 'page.js'));
  fs.copyFileSync(path.join(__dirname, 'page.html'), path.join(tmp, 'site', 'index.html'));

  await useBackend('wasm');
  const raw = fs.readFileSync(INPUTS);
  const input = tf.tensor4d(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 3 * 224 * 224 * 4)), [1, 3, 224, 224]);
  const model = await loadTurboModel(turbo);
  const out = model.execute({ pixel_values: input }, 'logits') as tf.Tensor;
  nodeLogits = (await out.data()) as Float32Array;
  tf.dispose([input, out]);
  model.dispose();

  server = await serveStatic({ '/': path.join(tmp, 'site'), '/wasm': wasmDir(), '/models/turbo': turbo, '/inputs.f32': INPUTS });
  browser = await launchChromium('plain');
  page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.turboPage !== undefined);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('plain --enable-unsafe-webgpu: Turbo ViT-Tiny through loadTurboModel, warmup() and a run gives Node\'s logits, no synchronous read, no error', async () => {
  if (!(await page.evaluate(() => window.turboPage.hasBackend('webgpu')))) {
    if (required('webgpu')) throw new Error('webgpu: no adapter in Chromium with the plain --enable-unsafe-webgpu flag, and TFJS_TURBO_REQUIRE includes webgpu');
    console.warn('NOT TESTED: webgpu: no adapter in Chromium with the plain flag');
    return;
  }
  const { backend, runs } = await page.evaluate(
    (req) => window.turboPage.run(req),
    { backend: 'webgpu', models: ['/models/turbo/model.json'], inputUrl: '/inputs.f32', batch: 1, warmup: true, warmRuns: 1 },
  );
  expect(backend).toBe('webgpu');
  const logits = runs[0].logits;
  expect(logits).toHaveLength(nodeLogits.length);
  expect(logits.every(Number.isFinite)).toBe(true);
  let max = 0;
  for (let k = 0; k < logits.length; k++) max = Math.max(max, Math.abs(logits[k] - nodeLogits[k]));
  const adapter = await page.evaluate(async () => {
    const a = await (navigator as unknown as { gpu: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu.requestAdapter();
    return a?.info ? `${a.info.vendor} ${a.info.architecture} ${a.info.description}`.trim() : 'unknown';
  });
  console.log(
    `plain-flag webgpu (adapter: ${adapter}): max |logit − Node| = ${max.toExponential(2)}, warmup() ${runs[0].warmupMs?.toFixed(0)} ms, ` +
      `first run ${runs[0].firstMs.toFixed(0)} ms, next ${runs[0].warmMs[0].toFixed(0)} ms; page errors/warnings: ${errors.length ? errors.join(' | ') : 'none'}`,
  );
  expect(max).toBeLessThan(1e-4);
  // tfjs warns "synchronously reading data from GPU to CPU is poor on the webgpu backend" on every readSync.
  expect(errors.filter((e) => /synchronously reading|mapAsync|Instance reference/i.test(e))).toEqual([]);
});
