import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** A digest of a directory's file names and contents (one level), to prove it was not touched. */
export function dirHash(dir: string): string {
  const h = crypto.createHash('sha256');
  for (const f of fs.readdirSync(dir).sort()) {
    h.update(f);
    const p = path.join(dir, f);
    h.update(fs.lstatSync(p).isFile() ? fs.readFileSync(p) : fs.lstatSync(p).mode.toString());
  }
  return h.digest('hex');
}
