// npm test [-- jest args]: jest over spec/ with the arguments given; a whole run (no arguments)
// then runs the op and browser suites again on the oldest tfjs the runtime package claims, so
// `npm test -- spec/ops` stays a quick targeted run.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { packageRoot } from '../src/paths';
import { testOnTfjs } from './test-oldest-tfjs';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const jest = path.join(packageRoot(), 'node_modules', 'jest', 'bin', 'jest.js');
  const r = spawnSync(process.execPath, [jest, ...args], { cwd: packageRoot(), stdio: 'inherit' });
  const status = r.status ?? 1;
  if (status !== 0 || args.length > 0) return status;
  return testOnTfjs([]);
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`npm test: ${e.message}`);
    process.exit(1);
  },
);
