// Installs tfjs-node(-gpu) into the project's node_modules without recording it anywhere
// (`npm install --no-save`: package.json and package-lock.json stay as they are, so a plain
// `npm ci` never needs it and removes it), then runs its own install script against our tarball.
//
// The package is added with --ignore-scripts and its installer is then run by us, explicitly, with
// the environment it needs. That keeps the install independent of npm's allowScripts policy (npm
// 12 blocks dependency scripts unless approved, and tfjs-node is no dependency to approve), and
// nothing else npm adds runs a script.

import * as fs from 'fs';
import * as path from 'path';
import { missingSymbols } from './check_abi';
import { serveFile } from './serve';
import { VariantPin, TFJS_NODE_VERSION } from './pins';
import { probe, run, SetupError } from './proc';

/**
 * Node's install prefix if it has the headers (Debian's nodejs: /usr, headers in /usr/include/node);
 * without nodedir node-gyp would try to download them.
 */
function nodedir(): string | undefined {
  for (const dir of [process.env.npm_config_nodedir, path.dirname(path.dirname(process.execPath)), '/usr']) {
    if (dir && fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return undefined;
}

export function packageDir(root: string, pin: VariantPin): string {
  return path.join(root, 'node_modules', ...pin.npmPackage.split('/'));
}

/** The installed version, if the package is there with a built addon. */
export function installedVersion(root: string, pin: VariantPin): string | null {
  const dir = packageDir(root, pin);
  try {
    const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version as string;
    const built = fs.existsSync(path.join(dir, 'lib')) && fs.readdirSync(path.join(dir, 'lib')).some((d) => d.startsWith('napi-v'));
    return built ? version : null;
  } catch {
    return null;
  }
}

export async function installNative(root: string, pin: VariantPin, tarball: string, log: (s: string) => void): Promise<void> {
  if (probe('c++', ['--version']) === null && probe('g++', ['--version']) === null) {
    throw new SetupError('no C++ compiler (c++/g++): tfjs-node\'s addon is compiled here; install one (Debian: apt-get install g++ make)');
  }
  if (probe('make', ['--version']) === null) throw new SetupError('no make: node-gyp builds the addon with it (Debian: apt-get install make)');
  const dir = nodedir();
  if (!dir) throw new SetupError("Node's headers (include/node/node_api.h) not found: install them (Debian: apt-get install libnode-dev) or set npm_config_nodedir");

  log(`  npm install --no-save --ignore-scripts ${pin.npmPackage}@${TFJS_NODE_VERSION}`);
  await run('npm', ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `${pin.npmPackage}@${TFJS_NODE_VERSION}`], `installing ${pin.npmPackage}`, { cwd: root });
  const pkg = packageDir(root, pin);
  fs.rmSync(path.join(pkg, 'deps'), { recursive: true, force: true }); // a re-run must fetch our tarball again

  const server = await serveFile(tarball, pin.tarballName);
  try {
    log(`  running ${pin.npmPackage}'s installer: libtensorflow from ${server.baseUri}…, addon compiled from source (nodedir ${dir})`);
    const env: NodeJS.ProcessEnv = { ...process.env, TFJS_NODE_BASE_URI: server.baseUri, npm_config_build_from_source: 'true', npm_config_nodedir: dir };
    // The installer sends every request through HTTP(S)_PROXY when set and knows no NO_PROXY: drop them for loopback.
    for (const k of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) delete env[k];
    await run('npm', ['run', 'install', '--silent'], `${pin.npmPackage}'s install script`, { cwd: pkg, env });
  } finally {
    await server.close();
  }
  if (server.served() === 0) throw new SetupError(`${pin.npmPackage}'s installer never fetched the tarball from the loopback server: its download logic changed`);

  const addon = findAddon(pkg);
  const abi = await missingSymbols(addon, ['libtensorflow.so.2', 'libtensorflow_framework.so.2'].map((l) => path.join(pkg, 'deps', 'lib', l)));
  if (abi === null) log('  nm (binutils) not found: ABI check skipped');
  else if (abi.missing.length) throw new SetupError(`the addon needs ${abi.missing.length} TensorFlow functions the library lacks: ${abi.missing.join(', ')}`);
  else log(`  ABI check: all ${abi.imported} TF_*/TFE_* functions the addon imports are defined by the library`);
}

function findAddon(pkg: string): string {
  const lib = path.join(pkg, 'lib');
  const napi = fs.existsSync(lib) ? fs.readdirSync(lib).filter((d) => d.startsWith('napi-v')) : [];
  for (const d of napi) {
    const f = path.join(lib, d, 'tfjs_binding.node');
    if (fs.existsSync(f)) return f;
  }
  throw new SetupError(`the installer finished but built no addon (no ${path.join(lib, 'napi-v*', 'tfjs_binding.node')})`);
}
