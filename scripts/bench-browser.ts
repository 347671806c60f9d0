// npm run bench:browser [-- --batch 1 --runs 5 --backends wasm,webgl,webgpu --passes warm,warmup]
// ViT-Tiny original vs Turbo (r = 16, alpha = 5) in headless Chromium (Debian's, SwiftShader for
// webgl and webgpu: a CPU rendering GPU, so absolute times are not a real GPU's) per backend; on
// webgl and webgpu the Turbo model with the fused GPU kernels and with the composite (read-back). Each
// configuration gets a fresh page, so "first" is a cold first inference (shader compilation
// included) and "warm" the median of the next runs. A second pass times warmup() and the first
// inference after it. Prints a markdown table.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir, convertWithTurbo } from '../src/convert';
import { packageRoot } from '../src/paths';
import { bundleForBrowser, launchChromium, serveStatic, wasmDir } from './browser/harness';
import type { RunRequest } from '../spec/browser/page';

async function main(args: string[]): Promise<void> {
  const arg = (name: string, def: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
  const batch = arg('--batch', 1);
  const runs = arg('--runs', 5);
  const list = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : def).split(',');
  const backends = list('--backends', 'wasm,webgl,webgpu');
  const passes = list('--passes', 'warm,warmup');
  const root = packageRoot();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-bench-browser-'));
  const turbo = path.join(tmp, 'turbo');
  await convertWithTurbo(embeddedModelDir(), turbo, { r: 16, alpha: 5 });
  await bundleForBrowser(path.join(root, 'spec', 'browser', 'page.ts'), path.join(tmp, 'site', 'page.js'));
  fs.copyFileSync(path.join(root, 'spec', 'browser', 'page.html'), path.join(tmp, 'site', 'index.html'));
  const server = await serveStatic({
    '/': path.join(tmp, 'site'),
    '/wasm': wasmDir(),
    '/models/orig': embeddedModelDir(),
    '/models/turbo': turbo,
    '/inputs.f32': path.join(root, 'spec', 'fixtures', 'parity', 'vit-tiny-inputs.f32'),
  });
  const browser = await launchChromium();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows: string[] = [];
  // [backend, model, kernels, composite matching, label]
  const configs: [string, string, RunRequest['kernels'], RunRequest['matching'], string][] = [
    ['wasm', '/models/orig/model.json', 'fused', 'auto', 'original'],
    ['wasm', '/models/turbo/model.json', 'fused', 'auto', 'Turbo (fused kernel)'],
    ['webgl', '/models/orig/model.json', 'fused', 'auto', 'original'],
    ['webgl', '/models/turbo/model.json', 'fused', 'auto', 'Turbo, fused GPU kernel'],
    ['webgl', '/models/turbo/model.json', 'composite', 'readback', 'Turbo, composite (read-back)'],
    ['webgpu', '/models/orig/model.json', 'fused', 'auto', 'original'],
    ['webgpu', '/models/turbo/model.json', 'fused', 'auto', 'Turbo, fused GPU kernel'],
    ['webgpu', '/models/turbo/model.json', 'composite', 'readback', 'Turbo, composite (read-back)'],
  ];
  try {
    for (const warm of [false, true]) {
      if (!passes.includes(warm ? 'warmup' : 'warm')) continue;
      for (const [backend, model, kernels, matching, label] of configs.filter((c) => backends.includes(c[0]))) {
        const page = await browser.newPage();
        await page.goto(`${server.url}/`);
        await page.waitForFunction(() => window.turboPage !== undefined);
        if (!(await page.evaluate((b) => window.turboPage.hasBackend(b), backend))) {
          rows.push(`| ${backend} | ${label} | no adapter | | |`);
          await page.close();
          continue;
        }
        const req: RunRequest = { backend, models: [model], inputUrl: '/inputs.f32', batch, kernels, matching, warmRuns: warm ? 0 : runs, warmup: warm };
        const { runs: [r] } = await page.evaluate((q) => window.turboPage.run(q), req);
        await page.close();
        const line = warm
          ? `| ${backend} | ${label} | warmup() ${r.warmupMs!.toFixed(0)} ms | first after warmup ${r.firstMs.toFixed(0)} ms | |`
          : `| ${backend} | ${label} | first ${r.firstMs.toFixed(0)} ms | warm ${median(r.warmMs).toFixed(1)} ms | |`;
        console.log(line);
        rows.push(line);
      }
    }
    // The merge's own time per block (ViT-Tiny's first block, r = 16), fused GPU kernel vs composite.
    for (const backend of ['webgl', 'webgpu'].filter((b) => backends.includes(b))) {
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => window.turboPage !== undefined);
      if (await page.evaluate((b) => window.turboPage.hasBackend(b), backend)) {
        for (const kernels of ['fused', 'composite'] as const) {
          const ms = await page.evaluate(([b, k, n, r]) => window.turboPage.timeMerge(b, k, n, r), [backend, kernels, batch, runs * 4] as const);
          const line = `| ${backend} | TurboMerge alone (${kernels}), N = 197 | median ${ms.toFixed(1)} ms | | |`;
          console.log(line);
          rows.push(line);
        }
      }
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\nbatch ${batch}, ${runs} warm runs (median)\n| backend | model | | | |\n| --- | --- | --- | --- | --- |\n${rows.join('\n')}`);
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`bench:browser: ${(e as Error).message}`);
  process.exit(1);
});
