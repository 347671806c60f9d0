// The fuzzer's cases: a seeded, reproducible list of (fixture, mutation) pairs, one kind after another.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../src/paths';
import { mulberry32 } from '../../src/rng';
import {
  HOSTILE_PATHS,
  MODEL_FILES,
  bytesMutation,
  editJson,
  int,
  manifestMutation,
  optionMutation,
  outputMutation,
  pick,
  shardFileMutation,
  structureMutation,
} from './mutations';

export const FIXTURES = ['vit-small', 'deit-small', 'clip-small', 'blip-small'].map((f) => path.join(packageRoot(), 'spec', 'fixtures', 'hf', f));

export type CaseKind = 'json-structure' | 'json-bytes' | 'manifest' | 'shard-file' | 'shard-path' | 'options' | 'output';
export const CASE_KINDS: CaseKind[] = ['json-structure', 'json-bytes', 'manifest', 'shard-file', 'shard-path', 'options', 'output'];

/** Seeded, and the same on every machine. */
export const rng = mulberry32;

export interface FuzzCase {
  id: number;
  kind: CaseKind;
  fixture: string;
  /** What was done, for the failure message. */
  what: string;
  /** Prepares the input directory (and the output path); returns the CLI arguments after IN and OUT. */
  prepare: (inDir: string, outDir: string, work: string) => { args: string[]; outDir?: string };
}
export function fuzzCases(seed: number, count: number): FuzzCase[] {
  const caseSeeds = rng(seed);
  return Array.from({ length: count }, (_, id) => {
    // Each case draws from its own stream, so one case replays alone, whatever ran before it.
    const r = rng(Math.floor(caseSeeds() * 2 ** 31));
    const kind = CASE_KINDS[id % CASE_KINDS.length];
    const fixture = pick(r, FIXTURES);
    const base = { id, kind, fixture };
    const rArgs = ['--r', String(1 + int(r, 8))];
    switch (kind) {
      case 'json-structure': {
        const muts = Array.from({ length: 1 + int(r, 3) }, () => structureMutation(r));
        return { ...base, what: muts.map((m) => m[0]).join('+'), prepare: (d) => (editJson(d, (j) => muts.forEach((m) => m[1](j))), { args: rArgs }) };
      }
      case 'manifest': {
        const m = manifestMutation(r);
        return { ...base, what: m[0], prepare: (d) => (editJson(d, m[1]), { args: rArgs }) };
      }
      case 'json-bytes': {
        const seedBytes = int(r, 2 ** 31);
        return {
          ...base,
          what: 'bytes',
          prepare: (d) => {
            const [, apply] = bytesMutation(rng(seedBytes), path.join(d, 'model.json'));
            apply();
            return { args: rArgs };
          },
        };
      }
      case 'shard-file': {
        const seedShard = int(r, 2 ** 31);
        return {
          ...base,
          what: 'shard',
          prepare: (d, _o, work) => {
            const [, apply] = shardFileMutation(rng(seedShard), path.join(d, MODEL_FILES[1]), work);
            apply();
            return { args: rArgs };
          },
        };
      }
      case 'shard-path': {
        const p = pick(r, HOSTILE_PATHS);
        return {
          ...base,
          what: JSON.stringify(p),
          prepare: (d, _o, work) => {
            fs.copyFileSync(path.join(d, MODEL_FILES[1]), path.join(work, 'outside.bin'));
            execFileSync('mkfifo', [path.join(d, 'fifo.bin')]);
            fs.mkdirSync(path.join(d, 'dir.bin'));
            editJson(d, (j) => (j.weightsManifest[0].paths = [p]));
            return { args: rArgs };
          },
        };
      }
      case 'options': {
        const args = optionMutation(r);
        return { ...base, what: args.join(' '), prepare: () => ({ args }) };
      }
      case 'output': {
        const [what, prepare] = outputMutation(r);
        return {
          ...base,
          what,
          prepare: (d, o, w) => {
            const p = prepare(d, o, w);
            return { args: [...rArgs, ...p.args], outDir: p.outDir };
          },
        };
      }
    }
  });
}
