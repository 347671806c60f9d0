// Importing tfjs-turbo registers its ops and kernels and does nothing else: an app on the cpu
// backend stays on cpu (wasm, which outranks it, is not loaded), and no file is read, so the
// package also works bundled (esbuild here), away from its package.json. Each entry is bundled into
// a temporary directory and loaded in a fresh node process, the way an app would load it.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-import-'));
  // The bundles resolve tfjs and the other dependencies from here, as from an app's node_modules.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(tmp, 'node_modules'), 'dir');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * Records the fs calls made directly from `bundle` (not from node's module loader, which reads the
 * dependencies' files), then prints the backend tfjs picks, those calls and how much was exported.
 */
function probe(bundle: string, load: string): string {
  return `
const fs = require('fs');
const calls = [];
for (const name of Object.keys(fs)) {
  const f = fs[name];
  if (typeof f !== 'function' || /^[A-Z]/.test(name)) continue;
  fs[name] = function (...args) {
    const caller = (new Error().stack.split('\\n')[2] || '');
    if (caller.includes(${JSON.stringify(bundle)})) calls.push(name + ' ' + String(args[0]));
    return f.apply(this, args);
  };
}
require('@tensorflow/tfjs-backend-cpu');
const tf = require('@tensorflow/tfjs-core');
Promise.resolve(${load}).then(async (turbo) => {
  // tfjs picks the highest-priority registered backend on first use.
  await tf.ready();
  console.log(JSON.stringify({ backend: tf.getBackend(), calls, exports: Object.keys(turbo).length }));
});`;
}

function run(script: string): { backend: string; calls: string[]; exports: number } {
  const r = spawnSync(process.execPath, ['-e', script], { cwd: tmp, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node exited with ${r.status}: ${r.stderr.trim().slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

test('the Node entry (src/index.ts), bundled as CommonJS: the app stays on cpu, no file is read', () => {
  const bundle = path.join(tmp, 'node-entry.js');
  buildSync({ entryPoints: [path.join(ROOT, 'src', 'index.ts')], bundle: true, platform: 'node', format: 'cjs', packages: 'external', outfile: bundle, logLevel: 'error' });
  const out = run(probe(bundle, `require(${JSON.stringify(bundle)})`));
  expect(out.calls).toEqual([]);
  expect(out.backend).toBe('cpu');
  expect(out.exports).toBeGreaterThan(10);
});

test('the browser entry (src/browser.ts), bundled as an ES module: the app stays on cpu, no file is read', () => {
  const bundle = path.join(tmp, 'browser-entry.mjs');
  buildSync({ entryPoints: [path.join(ROOT, 'src', 'browser.ts')], bundle: true, platform: 'neutral', format: 'esm', packages: 'external', outfile: bundle, logLevel: 'error' });
  const out = run(probe(bundle, `import(${JSON.stringify(bundle)})`));
  expect(out.calls).toEqual([]);
  expect(out.backend).toBe('cpu');
  expect(out.exports).toBeGreaterThan(10);
});
