// The runtime package (packages/tfjs-turbo) as a web developer meets it: built from its own
// tsconfigs, `npm pack`ed, installed from the tarball into a scratch app next to the tfjs peers only
// (no --legacy-peer-deps, install scripts off, the npm cache first), the README snippet bundled
// with esbuild and type-checked against it. Asserts the tarball's size, that nothing Node-only got
// installed, the manifest (no lifecycle script, optional backend peers), the LICENSE and source
// maps that carry their sources. Needs the npm registry or a warm npm cache for the peers.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as esbuild from 'esbuild';

const ROOT = path.join(__dirname, '..', '..');
const PACKAGE = path.join(ROOT, 'packages', 'tfjs-turbo');
const MAX_PACKED = 1024 * 1024;
/** What the Node package depends on and a browser app must never download. */
const NODE_ONLY = ['sharp', 'protobufjs', 'commander', 'cli-progress', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'tfjs-turbo-node'];
/** The peers the scratch app installs: the README's `npm i` line, at the repository's tfjs version. */
const APP_PEERS = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-wasm'];

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

let tmp: string;
let packed: Packed;
let app: string;
let installed: string[];

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function readmeSnippet(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('### In the browser')));
  if (!m) throw new Error('README.md: no ```ts block under "### In the browser"');
  return m[1];
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-pack-'));
  // A copy of the package directory built afresh, so a build spec/browser runs at the same time
  // in packages/tfjs-turbo/dist is never packed half-written.
  const pkg = path.join(tmp, 'tfjs-turbo');
  fs.mkdirSync(pkg);
  for (const f of ['package.json', 'LICENSE', 'README.md']) fs.copyFileSync(path.join(PACKAGE, f), path.join(pkg, f));
  const tsc = require.resolve('typescript/bin/tsc');
  for (const [config, out] of [['tsconfig.json', 'cjs'], ['tsconfig.esm.json', 'esm']]) {
    execFileSync(process.execPath, [tsc, '-p', path.join(PACKAGE, config), '--outDir', path.join(pkg, 'dist', out)], { cwd: ROOT, stdio: 'pipe' });
  }
  [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], pkg)) as Packed[];

  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  const tfjsVersion = readJson(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json')).version as string;
  const dependencies = Object.fromEntries([['tfjs-turbo', `file:../${packed.filename}`], ...APP_PEERS.map((p) => [p, tfjsVersion])]);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, dependencies }, null, 2));
  fs.writeFileSync(path.join(app, 'main.ts'), readmeSnippet());
  npm(['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], app);
  installed = Object.keys(readJson(path.join(app, 'node_modules', '.package-lock.json')).packages)
    .filter((p) => p.startsWith('node_modules/'))
    .map((p) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length));
}, 300000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the tarball is at most 1 MB packed and holds the builds, LICENSE, README and package.json only', () => {
  console.log(`${packed.filename}: ${(packed.size / 1024).toFixed(0)} kB packed, ${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked, ${packed.files.length} files`);
  expect(packed.size).toBeLessThanOrEqual(MAX_PACKED);
  for (const f of packed.files) expect(f.path).toMatch(/^(dist\/(cjs|esm)\/.+\.(js|js\.map|d\.ts)|LICENSE|README\.md|package\.json)$/);
  expect(packed.files.map((f) => f.path)).toEqual(expect.arrayContaining(['LICENSE', 'dist/esm/browser.js', 'dist/cjs/browser.js', 'dist/cjs/browser.d.ts']));
});

test('the manifest: no lifecycle script, the tokenizer as the one dependency, tfjs as peers with every backend optional', () => {
  const manifest = readJson(path.join(app, 'node_modules', 'tfjs-turbo', 'package.json'));
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare', 'prepack', 'postpack']) expect(manifest.scripts?.[script]).toBeUndefined();
  expect(Object.keys(manifest.dependencies)).toEqual(['@huggingface/tokenizers']);
  const peers = Object.keys(manifest.peerDependencies).sort();
  expect(peers).toEqual(['@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-core']);
  const optional = Object.keys(manifest.peerDependenciesMeta).filter((p) => manifest.peerDependenciesMeta[p].optional);
  expect(optional.sort()).toEqual(peers.filter((p) => p.includes('backend')));
});

test('the scratch app installs nothing Node-only, and no backend it did not ask for', () => {
  console.log(`scratch app: ${installed.length} packages installed: ${installed.join(', ')}`);
  for (const name of installed) {
    expect(NODE_ONLY.includes(name) || name.startsWith('@img/')).toBe(false);
  }
  expect(installed).toContain('tfjs-turbo');
  expect(installed).toContain('@huggingface/tokenizers');
  expect(installed).not.toContain('@tensorflow/tfjs-backend-webgpu');
  // Exactly one tfjs-core: the app's, which tfjs-turbo's imports resolve to.
  expect(installed.filter((p) => p === '@tensorflow/tfjs-core')).toHaveLength(1);
});

test('LICENSE is the Apache License 2.0 in full', () => {
  const license = fs.readFileSync(path.join(app, 'node_modules', 'tfjs-turbo', 'LICENSE'), 'utf8');
  expect(license).toMatch(/Apache License\s+Version 2\.0, January 2004/);
  expect(license).toContain('END OF TERMS AND CONDITIONS');
});

test('every source map carries the sources it names, and every script points at its map', () => {
  const dist = path.join(app, 'node_modules', 'tfjs-turbo', 'dist');
  const maps = packed.files.map((f) => f.path).filter((f) => f.endsWith('.js.map'));
  expect(maps.length).toBeGreaterThan(50);
  for (const file of maps) {
    const map = readJson(path.join(app, 'node_modules', 'tfjs-turbo', file));
    expect({ file, sources: map.sources.length, contents: (map.sourcesContent ?? []).filter((c: unknown) => typeof c === 'string' && c.length > 0).length }).toEqual({ file, sources: map.sources.length, contents: map.sources.length });
  }
  for (const file of packed.files.map((f) => f.path).filter((f) => f.endsWith('.js'))) {
    const js = fs.readFileSync(path.join(app, 'node_modules', 'tfjs-turbo', file), 'utf8');
    const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(js)?.[1];
    expect({ file, map: url !== undefined && fs.existsSync(path.join(path.dirname(path.join(dist, '..', file)), url)) }).toEqual({ file, map: true });
  }
});

test('the scripts import tfjs-core, tfjs-converter and the tokenizer only: no Node built-in, no backend', () => {
  const allowed = new Set(['@tensorflow/tfjs-core', '@tensorflow/tfjs-converter', '@huggingface/tokenizers']);
  for (const file of packed.files.map((f) => f.path).filter((f) => f.endsWith('.js'))) {
    const js = fs.readFileSync(path.join(app, 'node_modules', 'tfjs-turbo', file), 'utf8');
    const bare = [...js.matchAll(/(?:require\(|from |import\()\s*["']([^"'.][^"']*)["']/g)].map((m) => m[1]);
    for (const spec of bare) expect(`${file}: ${spec}`).toBe(allowed.has(spec) ? `${file}: ${spec}` : `${file}: (not allowed)`);
  }
});

test('esbuild bundles the README snippet from the installed package (its ESM build) for the browser', async () => {
  const built = await esbuild.build({
    entryPoints: [path.join(app, 'main.ts')],
    outfile: path.join(app, 'out', 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: app,
  });
  const inputs = Object.keys(built.metafile!.inputs);
  expect(inputs).toContain('node_modules/tfjs-turbo/dist/esm/browser.js');
  expect(inputs.filter((f) => f.startsWith('node_modules/tfjs-turbo/') && !f.startsWith('node_modules/tfjs-turbo/dist/esm/'))).toEqual([]);
  expect(inputs.filter((f) => f.includes('tfjs-core/') && !f.startsWith('node_modules/@tensorflow/tfjs-core/'))).toEqual([]);
  console.log(`README snippet bundle: ${(fs.statSync(path.join(app, 'out', 'app.js')).size / 1024).toFixed(0)} kB minified, ${inputs.length} inputs`);
});

test('the README snippet type-checks against the installed package (TypeScript strict, lib checks on)', () => {
  fs.writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ES2022', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], strict: true, noEmit: true }, files: ['main.ts'] }),
  );
  const tsc = require.resolve('typescript/bin/tsc');
  let out = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    out = `${(e as { stdout?: string }).stdout ?? ''}${(e as Error).message}`;
  }
  expect(out).toBe('');
});

test('Node loads the CommonJS build from the installed package (the exports map\'s node condition)', () => {
  const names = execFileSync(process.execPath, ['-e', "const t = require('tfjs-turbo'); console.log(['loadTurboModel', 'loadPreprocessing', 'loadClassNames', 'preprocess', 'warmup', 'turboMerge'].filter((k) => typeof t[k] === 'function').join(','))"], { cwd: app, encoding: 'utf8' });
  expect(names.trim()).toBe('loadTurboModel,loadPreprocessing,loadClassNames,preprocess,warmup,turboMerge');
});
