// npm run bench:browser [-- --models vit-tiny,vit-b --batches 1,4 --backends webgl,webgpu --runs 5 --runs-vit-b 2
//                          --configs vit-tiny:webgl:1,vit-b:webgl:1:2 --no-merge | --merge-only --json out.json]
// ViT-Tiny (real weights) and ViT-B/16 (random weights, scripts/random_vit.ts: speed does not
// depend on them), original vs Turbo (r = 16, alpha = 5), in headless Chromium (Debian's; SwiftShader
// behind webgl and webgpu, a CPU rendering GPU, so absolute times are not a real GPU's). Per
// configuration (model, backend, batch) one fresh page loads both models through the public API
// (loadTurboModel), calls warmup() on each, times each one's first run after warmup(), then
// alternates warm runs between the two, so both see the same load. Then the merge's own time per
// block (the first block's TurboMerge, fused GPU kernel vs the composite) per GPU backend, model
// width and batch. --configs picks configurations (model:backend:batch[:warm runs]; 0 warm runs: the
// first run after warmup() stands in for a warm one, for a configuration too slow for more) instead of the
// cross product, to budget a slow machine; --merge-only times the merge alone for them. Prints
// markdown tables.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir, convertWithTurbo } from '../src/convert';
import { packageRoot } from '../src/paths';
import { bundleForBrowser, launchChromium, serveStatic, wasmDir } from './browser/harness';
import { modelOnDisk } from './bench/models';
import type { InterleavedRequest, ModelTimes } from './browser/bench_page';

const WIDTH: Record<string, number> = { 'vit-tiny': 192, 'vit-b': 768 };
const TITLE: Record<string, string> = { 'vit-tiny': 'ViT-Tiny/16 (real weights)', 'vit-b': 'ViT-B/16 (random weights)' };

interface Config {
  model: string;
  backend: string;
  batch: number;
  runs: number;
}

interface Row extends Config {
  original: ModelTimes;
  turbo: ModelTimes;
  /** 1-minute load averages when the row started and ended (the machine's other jobs show here). */
  load: [number, number];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// 0 warm runs (a configuration too slow for more): the first run after warmup() stands in, marked.
const warm = (t: ModelTimes) => (t.warmMs.length ? median(t.warmMs) : t.firstMs);

function parseArgs(args: string[]) {
  const value = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const list = (name: string, def: string) => (value(name) ?? def).split(',').filter(Boolean);
  const runs = Number(value('--runs') ?? 5);
  const runsB = Number(value('--runs-vit-b') ?? 2);
  const models = list('--models', 'vit-tiny,vit-b');
  for (const m of models) if (!(m in WIDTH)) throw new Error(`--models: unknown model '${m}' (vit-tiny, vit-b)`);
  const backends = list('--backends', 'webgl,webgpu');
  const batches = list('--batches', '1,4').map(Number);
  let configs: Config[] = models.flatMap((model) => backends.flatMap((backend) => batches.map((batch) => ({ model, backend, batch, runs: model === 'vit-b' ? runsB : runs }))));
  const picked = value('--configs');
  if (picked) {
    configs = picked.split(',').map((c) => {
      const [model, backend, batch, n] = c.split(':');
      if (!(model in WIDTH) || !backend || !Number(batch)) throw new Error(`--configs: '${c}' is not model:backend:batch[:runs]`);
      return { model, backend, batch: Number(batch), runs: n ? Number(n) : model === 'vit-b' ? runsB : runs };
    });
  }
  const mergeOnly = args.includes('--merge-only');
  return { configs, models: !mergeOnly, merge: mergeOnly || !args.includes('--no-merge'), json: value('--json') };
}

async function main(args: string[]): Promise<void> {
  const { configs, models, merge, json } = parseArgs(args);
  const root = packageRoot();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-bench-browser-'));
  const log = (s: string) => console.error(`bench:browser: ${s}`);
  const routes: Record<string, string> = { '/': path.join(tmp, 'site'), '/wasm': wasmDir(), '/inputs.f32': path.join(root, 'spec', 'fixtures', 'parity', 'vit-tiny-inputs.f32') };
  for (const model of models ? new Set(configs.map((c) => c.model)) : []) {
    const original = model === 'vit-tiny' ? embeddedModelDir() : (await modelOnDisk(model, '', tmp, log)).graphDir;
    const turbo = path.join(tmp, `${model}-turbo`);
    await convertWithTurbo(original, turbo, { r: 16, alpha: 5 });
    routes[`/models/${model}/orig`] = original;
    routes[`/models/${model}/turbo`] = turbo;
  }
  await bundleForBrowser(path.join(root, 'scripts', 'browser', 'bench_page.ts'), path.join(tmp, 'site', 'page.js'));
  fs.copyFileSync(path.join(root, 'spec', 'browser', 'page.html'), path.join(tmp, 'site', 'index.html'));
  const server = await serveStatic(routes);
  const browser = await launchChromium();
  const chromium = browser.version();
  const rows: Row[] = [];
  const mergeRows: string[] = [];
  const fmt = (ms: number) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
  const runsCell = (r: Row) =>
    r.original.warmMs.length || r.turbo.warmMs.length ? `${r.original.warmMs.map(fmt).join(', ')} / ${r.turbo.warmMs.map(fmt).join(', ')}` : 'none (first run after warmup() as warm)';
  const line = (r: Row) => {
    const [o, t] = [warm(r.original), warm(r.turbo)];
    const finite = r.original.finite && r.turbo.finite ? '' : ' (non-finite logits!)';
    return (
      `| ${TITLE[r.model]} | ${r.backend} | ${r.batch} | ${fmt(o)} | ${fmt(t)} | **${(o / t).toFixed(2)}x** | ` +
      `${fmt(r.original.warmupMs)} / ${fmt(r.turbo.warmupMs)} | ${fmt(r.original.firstMs)} / ${fmt(r.turbo.firstMs)} | ` +
      `${(r.original.firstMs / o).toFixed(2)} / ${(r.turbo.firstMs / t).toFixed(2)} | ${runsCell(r)}${finite} | ${r.load.map((l) => l.toFixed(1)).join(' → ')} |`
    );
  };
  try {
    // The merge alone first: minutes, where the models take up to an hour on SwiftShader.
    if (merge) {
      const seen = new Set<string>();
      for (const c of configs.filter((x) => x.backend !== 'wasm' && x.backend !== 'cpu')) {
        const key = `${c.backend}/${WIDTH[c.model]}/${c.batch}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const page = await browser.newPage();
        await page.goto(`${server.url}/`);
        await page.waitForFunction(() => window.turboBench !== undefined);
        if (await page.evaluate((b) => window.turboBench.hasBackend(b), c.backend)) {
          const ms: number[] = [];
          for (const kernels of ['fused', 'composite'] as const) {
            ms.push(await page.evaluate(([b, k, n, w]) => window.turboBench.timeMergeAt(b, k, n, w, 10), [c.backend, kernels, c.batch, WIDTH[c.model]] as const));
          }
          const row = `| ${c.backend} | ${c.model} (C = ${WIDTH[c.model]}) | ${c.batch} | ${ms[0].toFixed(1)} ms | ${ms[1].toFixed(1)} ms |`;
          console.log(row);
          mergeRows.push(row);
        }
        await page.close();
      }
    }
    for (const c of models ? configs : []) {
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => window.turboBench !== undefined);
      if (!(await page.evaluate((b) => window.turboBench.hasBackend(b), c.backend))) {
        log(`${c.backend}: no adapter, skipped ${c.model} batch ${c.batch}`);
        await page.close();
        continue;
      }
      log(`${c.model} ${c.backend} batch ${c.batch}, ${c.runs} warm runs each (${new Date().toISOString()}, load ${os.loadavg()[0].toFixed(1)})`);
      const loadBefore = os.loadavg()[0];
      const req: InterleavedRequest = { backend: c.backend, models: [`/models/${c.model}/orig/model.json`, `/models/${c.model}/turbo/model.json`], inputUrl: '/inputs.f32', batch: c.batch, warmRuns: c.runs };
      const [original, turbo] = await page.evaluate((q) => window.turboBench.interleaved(q), req);
      await page.close();
      rows.push({ ...c, original, turbo, load: [loadBefore, os.loadavg()[0]] });
      console.log(line(rows[rows.length - 1]));
    }
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\nChromium ${chromium}, headless, SwiftShader (harness flags); Turbo r = 16, alpha = 5; warm = median of the warm runs, original and Turbo alternating in one page`);
  console.log('| model | backend | batch | original warm | Turbo warm | speed-up | warmup() original / Turbo | first run after warmup() original / Turbo | first ÷ warm original / Turbo | warm runs original / Turbo | load (1 min) start → end |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(line(r));
  if (mergeRows.length) {
    console.log('\nTurboMerge alone, first block (N = 197, r = 16), median of 10, until the new sizes are read back');
    console.log('| backend | model | batch | fused GPU kernel | composite (read-back) |\n| --- | --- | --- | --- | --- |');
    for (const r of mergeRows) console.log(r);
  }
  if (json) fs.writeFileSync(json, JSON.stringify({ chromium, rows }, null, 1));
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`bench:browser: ${(e as Error).message}`);
  process.exit(1);
});
