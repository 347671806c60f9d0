// Parsing JSON someone else supplied (a file, a fetched URL) without ever echoing it. Browser-safe:
// the Node readers (graph/safe_read.ts) and the URL loaders share it.
import { TurboInputError } from './errors';

/**
 * JSON.parse with an error that never quotes the text: V8's messages carry the first bytes of the
 * input ("Unexpected token 'r', \"root:x:0:0\"..."), and the file may be a link to a secret.
 */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const at = /at position (\d+)/.exec((e as Error).message);
    const where = at ? ` at byte ${at[1]}` : text.trim() === '' ? ' (empty)' : ' (not a JSON document)';
    throw new TurboInputError(file, `not valid JSON${where}`);
  }
}
