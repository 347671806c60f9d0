// The seeded case list every surface builds on: kinds in turn, each case drawing from its own
// stream, so one case replays alone whatever ran before it (as cases.ts does for graph models).

import * as fs from 'fs';
import * as path from 'path';
import { mulberry32 } from '../../src/rng';
import type { Rand } from './mutations';

export function seededCases<T>(seed: number, count: number, kinds: readonly string[], make: (id: number, kind: string, r: Rand) => T): T[] {
  const caseSeeds = mulberry32(seed);
  return Array.from({ length: count }, (_, id) => make(id, kinds[id % kinds.length], mulberry32(Math.floor(caseSeeds() * 2 ** 31))));
}

/** Copies the files of `from` that `keep` accepts (relative paths) into `to`, directories as needed. */
export function copyTree(from: string, to: string, keep: (rel: string) => boolean = () => true): void {
  fs.cpSync(from, to, { recursive: true, filter: (src) => fs.statSync(src).isDirectory() || keep(path.relative(from, src)) });
}
