// Reading a small JSON file the user gave us, with the one-line errors every reader shares.
import * as fs from 'fs';
import { TurboInputError } from './errors';

export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TurboInputError(file, code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a directory, expected a file' : (e as Error).message);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TurboInputError(file, `not valid JSON (${(e as Error).message})`);
  }
}
