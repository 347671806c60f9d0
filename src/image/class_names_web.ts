// The class names convert-with-turbo copies next to model.json (SIDECAR_FILES in src/sidecars.ts:
// imagenet-classes.txt for the embedded ViT, labels.txt for others), one name per line in the order
// of the logits, fetched from the model's URL like loadPreprocessing. Browser-safe.
import { TurboInputError } from '../errors';

/** The sidecar names holding class names, in the order they are tried. */
export const CLASS_NAME_FILES = ['imagenet-classes.txt', 'labels.txt'] as const;

/**
 * Fetches the class names from a model directory URL (with or without a trailing slash or
 * model.json): the first of CLASS_NAME_FILES that exists, split into lines (index i names logit i).
 */
export async function loadClassNames(modelUrl: string, init?: RequestInit): Promise<string[]> {
  const base = modelUrl.replace(/model\.json$/, '').replace(/\/?$/, '/');
  const statuses: string[] = [];
  for (const name of CLASS_NAME_FILES) {
    const url = `${base}${name}`;
    const res = await fetch(url, init);
    if (res.ok) return parseClassNames(await res.text(), url);
    statuses.push(`${name} HTTP ${res.status}`);
  }
  throw new TurboInputError(base, `no class names next to the model (${statuses.join(', ')})`);
}

/** One name per line; CRLF and a final newline are tolerated, an empty name inside the list is not. */
export function parseClassNames(text: string, url: string): string[] {
  const names = text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  const blank = names.findIndex((n) => n.trim() === '');
  if (blank >= 0) throw new TurboInputError(url, `line ${blank + 1} is empty: expected one class name per line`);
  return names;
}
