// The package root, found by walking up to our package.json, so paths to models/ and assets/ are
// right whether the code runs from src/ (jest, swc) or dist/src/ (the built CLI, an npm install).
import * as fs from 'fs';
import * as path from 'path';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'tfjs-turbo-node') return (root = dir);
    if (path.dirname(dir) === dir) throw new Error(`tfjs-turbo: no package.json of tfjs-turbo-node above ${__dirname}`);
  }
}
