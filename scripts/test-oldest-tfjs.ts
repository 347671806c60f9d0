// npm run test:oldest-tfjs [-- VERSION] [-- jest args]: the op suites and the browser suite on the
// oldest tfjs 4.x the runtime package claims (its peer range's floor), or on VERSION, installed
// beside the repository's by scripts/tfjs_versions.ts. A whole `npm test` ends with it
// (scripts/run-tests.ts), so the claimed range is the tested one.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { packageRoot } from '../src/paths';
import { ensureTfjs, oldestClaimedTfjs } from './tfjs_versions';

const SUITES = ['spec/ops', 'spec/browser/browser.spec.ts'];

/**
 * TFJS_TURBO_REQUIRE for the run: without 'webgpu' below 4.22, whose tfjs-backend-webgpu calls
 * GPUAdapter.requestAdapterInfo(), which Chromium has removed, so no webgpu backend starts there
 * (the suite says NOT TESTED; the webgpu peer range starts at 4.22, tested by the main run).
 */
function requirements(version: string): string {
  const [major, minor] = version.split('.').map(Number);
  const all = (process.env.TFJS_TURBO_REQUIRE ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return (major > 4 || (major === 4 && minor >= 22) ? all : all.filter((r) => r !== 'webgpu')).join(',');
}

/** Runs the suites on `version` (default: the claimed floor); resolves to jest's exit status. */
export async function testOnTfjs(args: string[], version?: string): Promise<number> {
  const root = packageRoot();
  const v = version ?? oldestClaimedTfjs(root);
  const dir = await ensureTfjs(v);
  const required = requirements(v);
  console.log(`tfjs ${v} (${dir}): ${SUITES.join(' ')}, TFJS_TURBO_REQUIRE=${required}`);
  const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
  const r = spawnSync(process.execPath, [jest, ...SUITES, ...args], { cwd: root, stdio: 'inherit', env: { ...process.env, TFJS_TURBO_TFJS_DIR: dir, TFJS_TURBO_REQUIRE: required } });
  return r.status ?? 1;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const version = args[0] && /^\d/.test(args[0]) ? args.shift()! : undefined;
  testOnTfjs(args, version).then(
    (code) => process.exit(code),
    (e: Error) => {
      console.error(`test-oldest-tfjs: ${e.message}`);
      process.exit(1);
    },
  );
}
