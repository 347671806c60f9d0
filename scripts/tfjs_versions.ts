// Another tfjs 4.x beside the repository's, for running the suites against it: the six @tensorflow
// packages tfjs-turbo touches, at one version, installed with npm into the tfjs-turbo cache
// (scripts/native/cache.ts: ~/.cache/tfjs-turbo/tfjs/<version>), once. Point jest.config.js and the
// browser bundles at it with TFJS_TURBO_TFJS_DIR=<that directory>.
import * as fs from 'fs';
import * as path from 'path';
import { atomically, cacheDir } from './native/cache';
import { run } from './native/proc';
import { TFJS_PACKAGES } from './browser/tfjs_dir';

/** The lowest tfjs-core the runtime package claims: its peer range's floor (packages/tfjs-turbo/package.json). */
export function oldestClaimedTfjs(root: string): string {
  const manifest = path.join(root, 'packages', 'tfjs-turbo', 'package.json');
  const range: string = JSON.parse(fs.readFileSync(manifest, 'utf8')).peerDependencies['@tensorflow/tfjs-core'];
  const m = /^\^(\d+\.\d+\.\d+)$/.exec(range);
  if (!m) throw new Error(`${manifest}: the @tensorflow/tfjs-core peer range ${JSON.stringify(range)} is not ^X.Y.Z`);
  return m[1];
}

/** The directory holding node_modules/@tensorflow/* at `version`, installed into the cache if absent. */
export async function ensureTfjs(version: string): Promise<string> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`tfjs version ${JSON.stringify(version)}: expected X.Y.Z`);
  const dir = path.join(cacheDir(), 'tfjs', version);
  const marker = path.join(dir, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json');
  if (fs.existsSync(marker)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  await atomically(dir, async (tmp) => {
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'package.json'), '{ "private": true }\n');
    const specs = TFJS_PACKAGES.map((p) => `@tensorflow/${p}@${version}`);
    // Scripts off (none of these needs one), and the npm cache first: a second machine run is offline.
    await run('npm', ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', ...specs], `installing tfjs ${version}`, { cwd: tmp });
  });
  return dir;
}
