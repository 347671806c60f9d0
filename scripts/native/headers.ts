// The header closure tfjs-node's binding needs: start from what binding/*.cc includes and follow
// every quoted #include that resolves inside the wheel's include/ directory. Conditional includes
// are followed too (a superset is harmless; a missing header is a failed build). Angle-bracket
// includes are system or Node headers and stay out.

import * as fs from 'fs';
import * as path from 'path';

/** What tfjs-node 4.22's binding/*.cc and *.h include from TensorFlow. */
export const BINDING_INCLUDES = [
  'tensorflow/c/c_api.h',
  'tensorflow/c/eager/c_api.h',
  'tensorflow/c/tf_datatype.h',
  'tensorflow/c/tf_status.h',
  'tensorflow/c/tf_tensor.h',
  'tensorflow/core/platform/ctstring_internal.h',
];

const INCLUDE_RE = /^\s*#\s*include\s+"([^"]+)"/gm;

/** Paths relative to `includeDir` of every header reachable from `roots`; throws when a root is missing. */
export function headerClosure(includeDir: string, roots: readonly string[] = BINDING_INCLUDES): string[] {
  const seen = new Set<string>();
  const stack = [...roots];
  for (const r of roots) {
    if (!fs.existsSync(path.join(includeDir, r))) throw new Error(`the wheel has no ${r}: not a TensorFlow build the binding can use`);
  }
  while (stack.length) {
    const rel = stack.pop()!;
    if (seen.has(rel)) continue;
    const file = path.join(includeDir, rel);
    if (!fs.existsSync(file)) continue; // platform-specific or generated elsewhere: never reached on Linux
    seen.add(rel);
    for (const m of fs.readFileSync(file, 'utf8').matchAll(INCLUDE_RE)) stack.push(path.posix.normalize(m[1]));
  }
  return [...seen].sort();
}
