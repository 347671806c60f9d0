// Helpers the test pages (page.ts, drop_page.ts, pitome_page.ts) share; bundled into each page.
import * as tf from '@tensorflow/tfjs-core';

/** Switches to `name`; false where the backend does not start here (webgpu needs an adapter). */
export async function trySetBackend(name: string): Promise<boolean> {
  try {
    if (!(await tf.setBackend(name))) return false;
  } catch {
    return false;
  }
  await tf.ready();
  return true;
}

/** Counts the backend's readSync/read calls while `f` runs. */
export function countingReads<T>(f: () => T): { value: T; reads: number } {
  const b = tf.backend() as unknown as Record<'readSync' | 'read', (...args: unknown[]) => unknown>;
  const saved = { readSync: b.readSync, read: b.read };
  let reads = 0;
  for (const k of ['readSync', 'read'] as const) {
    b[k] = (...args: unknown[]) => {
      reads++;
      return saved[k].apply(b, args);
    };
  }
  try {
    return { value: f(), reads };
  } finally {
    Object.assign(b, saved);
  }
}
