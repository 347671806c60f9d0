// Runs an exported async function of a TS module in a plain `node` child process. Whole-model runs
// on the tfjs cpu backend are ~2.5x slower inside jest than in plain node: jest evaluates modules in
// a vm context, where every global lookup (each `Math.exp` in tfjs-backend-cpu's kernels) is a slow
// interceptor call (Math.exp in a loop: 3.7 s under jest vs 0.3 s in node). The child compiles TS
// with @swc/core (scripts/ts_hook.ts).

import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TS_HOOK as HOOK } from '../../scripts/ts_hook';

/** The JSON-serialisable result of `require(modulePath)[fn](...args)`. */
export function runInNode<T>(modulePath: string, fn: string, args: unknown[]): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-child-'));
  const out = path.join(dir, 'result.json');
  const code = `${HOOK}
Promise.resolve(require(${JSON.stringify(modulePath)})[${JSON.stringify(fn)}](...${JSON.stringify(args)}))
  .then((r) => fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify(r)))
  .catch((e) => { console.error(e && e.stack || e); process.exitCode = 1; });`;
  return new Promise<T>((resolve, reject) => {
    let stderr = '';
    const child = spawn(process.execPath, ['-e', code], { cwd: path.resolve(__dirname, '..', '..'), stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => {
      try {
        if (status !== 0 || !fs.existsSync(out)) reject(new Error(`${fn} in a node child exited with ${status}: ${stderr.trim().slice(-2000)}`));
        else resolve(JSON.parse(fs.readFileSync(out, 'utf8')) as T);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
