// node dist/scripts/probe-browser.js backend:model[:profile] ...  (model: orig | turbo,
// ViT-Tiny's original or its r = 16, alpha = 5 rewrite; profile: none | kernels | shapes) with
// --flags '{"WEBGL_USE_SHAPES_UNIFORMS":true}' applying to the specs after it. One fresh Chromium
// page per spec (scripts/browser/probe_page.ts): programs compiled by warmup(), its time, three
// runs, and optionally a tf.profile'd run. The diagnostics behind docs/BENCHMARKS.md's
// "Compiling once" and webgpu profile tables; prints one JSON line per spec.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir, convertWithTurbo } from '../src/convert';
import { packageRoot } from '../src/paths';
import { bundleForBrowser, launchChromium, serveStatic } from './browser/harness';
import type { ProbeRequest } from './browser/probe_page';

async function main(args: string[]): Promise<void> {
  const root = packageRoot();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-probe-'));
  const turbo = path.join(tmp, 'turbo');
  await convertWithTurbo(embeddedModelDir(), turbo, { r: 16, alpha: 5 });
  await bundleForBrowser(path.join(root, 'scripts', 'browser', 'probe_page.ts'), path.join(tmp, 'site', 'page.js'));
  fs.copyFileSync(path.join(root, 'spec', 'browser', 'page.html'), path.join(tmp, 'site', 'index.html'));
  const server = await serveStatic({ '/': path.join(tmp, 'site'), '/orig': embeddedModelDir(), '/turbo': turbo });
  const browser = await launchChromium();
  let flags: ProbeRequest['flags'] = {};
  try {
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '--flags') {
        flags = JSON.parse(args[++i]) as ProbeRequest['flags'];
        continue;
      }
      const [backend, model, profile = 'none'] = args[i].split(':');
      if (!['orig', 'turbo'].includes(model) || !['none', 'kernels', 'shapes'].includes(profile)) throw new Error(`'${args[i]}' is not backend:orig|turbo[:none|kernels|shapes]`);
      const page = await browser.newPage();
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => window.turboProbe !== undefined);
      const req: ProbeRequest = { backend, url: `/${model}/model.json`, batch: 1, flags, profile: profile as ProbeRequest['profile'] };
      const load = os.loadavg()[0];
      const result = await page.evaluate((q) => window.turboProbe(q), req);
      console.log(JSON.stringify({ spec: args[i], flags, load: [load, os.loadavg()[0]], ...result }));
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`probe-browser: ${(e as Error).message}`);
  process.exit(1);
});
