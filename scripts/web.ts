// npm run web [-- --port 8080] [--screenshot FILE.png]
// Builds the demo page (examples/web, bundled by esbuild), converts the embedded ViT-Tiny with Turbo
// (r = 16, alpha = 5; the page changes r and alpha itself) and serves both on 127.0.0.1. With
// --screenshot it loads the page in headless Chromium instead, waits for the first result and
// writes a screenshot (docs/demo.png is made this way).
import * as fs from 'fs';
import * as path from 'path';
import { embeddedModelDir, convertWithTurbo } from '../src/convert';
import { packageRoot } from '../src/paths';
import { bundleForBrowser, launchChromium, serveStatic, wasmDir } from './browser/harness';

async function main(args: string[]): Promise<void> {
  const root = packageRoot();
  const site = path.join(root, 'out', 'web');
  const turbo = path.join(site, 'vit-tiny-turbo');
  await bundleForBrowser(path.join(root, 'examples', 'web', 'main.ts'), path.join(site, 'app.js'));
  fs.copyFileSync(path.join(root, 'examples', 'web', 'index.html'), path.join(site, 'index.html'));
  if (!fs.existsSync(path.join(turbo, 'model.json'))) await convertWithTurbo(embeddedModelDir(), turbo, { r: 16, alpha: 5 });
  const portAt = args.indexOf('--port');
  const shotAt = args.indexOf('--screenshot');
  const routes = {
    '/': site,
    '/wasm': wasmDir(),
    '/hare.jpg': path.join(root, 'assets', 'hare.jpg'),
    '/models/vit-tiny': embeddedModelDir(),
    '/models/vit-tiny-turbo': turbo,
  };
  const server = await serveStatic(routes, portAt >= 0 ? Number(args[portAt + 1]) : 0);
  if (shotAt < 0) {
    console.log(`demo: ${server.url}/ (Ctrl-C to stop)`);
    return;
  }
  const file = args[shotAt + 1];
  const backend = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : 'webgl';
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1180, height: 520 } });
    page.on('pageerror', (e) => console.error(`page: ${e.message}`));
    await page.goto(`${server.url}/?backend=${backend}`);
    await page.waitForFunction(() => document.body.dataset.done === '1' || document.getElementById('status')!.textContent!.startsWith('error'), undefined, {
      timeout: 600000,
    });
    const status = await page.textContent('#status');
    if (status?.startsWith('error')) throw new Error(`demo page: ${status}`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`${file}: ${await page.textContent('#status')}`);
  } finally {
    await browser.close();
    await server.close();
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`web: ${(e as Error).message}`);
  process.exit(1);
});
