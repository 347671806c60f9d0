// Headless Chromium for the browser tests, the browser benchmark and the demo screenshot: Debian's
// chromium (never a downloaded browser) driven by playwright-core, a static server on loopback,
// and esbuild bundling a page for the browser platform.
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import * as esbuild from 'esbuild';
import { Browser, chromium } from 'playwright-core';

/** Where Chromium is: $CHROMIUM_PATH, else Debian's /usr/bin/chromium. Throws (never skips) when absent. */
export function chromiumPath(): string {
  const exe = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(exe)) {
    throw new Error(`Chromium not found at ${exe}: the browser tests need it (Debian: apt-get install -y chromium; .ci/run installs it), or set CHROMIUM_PATH`);
  }
  return exe;
}

// The machine has no network: no background connections.
const QUIET = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * 'swiftshader' (the default): SwiftShader (CPU) named behind WebGL (ANGLE) and WebGPU (Vulkan), as
 * the tests and benchmarks run. 'plain': only the flags a web developer passes to get WebGPU
 * (--enable-unsafe-webgpu), Chromium picking its adapter itself.
 */
export type ChromiumFlags = 'swiftshader' | 'plain';

const FLAGS: Record<ChromiumFlags, string[]> = {
  swiftshader: [
    ...QUIET,
    '--use-angle=swiftshader',
    '--enable-unsafe-swiftshader',
    '--enable-unsafe-webgpu',
    '--enable-features=Vulkan',
    '--use-vulkan=swiftshader',
    '--use-webgpu-adapter=swiftshader',
  ],
  plain: [...QUIET, '--enable-unsafe-webgpu'],
};

export async function launchChromium(flags: ChromiumFlags = 'swiftshader'): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: FLAGS[flags] });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.txt': 'text/plain',
  '.css': 'text/css',
};

export interface Server {
  url: string;
  close(): Promise<void>;
}

/** Serves `routes` (URL prefix → directory or file) on 127.0.0.1; paths cannot leave their directory. */
export async function serveStatic(routes: Record<string, string>, port = 0): Promise<Server> {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const prefix = prefixes.find((p) => url === p || url.startsWith(p.endsWith('/') ? p : `${p}/`));
    let file: string | undefined;
    if (prefix !== undefined) {
      const root = path.resolve(routes[prefix]);
      const rest = url.slice(prefix.length).replace(/^\/+/, '');
      file = rest ? path.resolve(root, rest) : root;
      if (file !== root && !file.startsWith(root + path.sep)) file = undefined;
      if (file && fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    }
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404).end(`not found: ${url}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${bound}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Bundles `entry` for the browser (ESM, minified) into `outfile`; fails on any Node built-in. */
export async function bundleForBrowser(entry: string, outfile: string, options: esbuild.BuildOptions = {}): Promise<esbuild.BuildResult> {
  return esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    metafile: true,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
    ...options,
  });
}

/** The wasm binaries of @tensorflow/tfjs-backend-wasm, served at /wasm/. */
export function wasmDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}
