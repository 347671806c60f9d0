#!/usr/bin/env node
// Writes the official merge cases (spec/fixtures/parity/merge-cases.json) as the plain-text file
// the CUDA harness reads (native/cuda/merge_cases.txt), so the harness needs no JSON parser and
// nothing but nvcc on the GPU machine. Regenerate with:
//   npx tsc -p tsconfig.json && node dist/scripts/export-merge-cases.js
//
// Format: whitespace-separated tokens.
//   turbo-merge-cases 1 <count>
//   per case: B N C d r alpha beta gamma layer protected_tokens r_threshold has_size
//             x[B*N*C] metric[B*N*d] cls_attn[B*N] (size[B*N] if has_size)
//             n_out expected_x[B*n_out*C] expected_size[B*n_out]
// Inputs are written as the float32 values the ops see (shortest round-trip decimal of the float),
// expectations as the official float64 values.

import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../src/paths';

interface MergeCase {
  B: number; N: number; C: number; d: number; r: number; alpha: number; classToken: boolean; rThreshold: number;
  beta: number; gamma: number; layer: number;
  x: number[][][]; metric: number[][][]; attnCls: number[][]; size: number[][] | null;
  expectedX: number[][][]; expectedSize: number[][];
}

const f32 = (v: number) => String(Math.fround(v));
const line = (values: number[], fmt: (v: number) => string) => values.map(fmt).join(' ');

export function exportMergeCases(root = packageRoot()): string {
  const file = path.join(root, 'spec', 'fixtures', 'parity', 'merge-cases.json');
  const cases = (JSON.parse(fs.readFileSync(file, 'utf8')) as { cases: MergeCase[] }).cases;
  const out = [`turbo-merge-cases 1 ${cases.length}`];
  for (const c of cases) {
    out.push(line([c.B, c.N, c.C, c.d, c.r, c.alpha, c.beta, c.gamma, c.layer, c.classToken ? 1 : 0, c.rThreshold, c.size ? 1 : 0], String));
    out.push(line(c.x.flat(2), f32), line(c.metric.flat(2), f32), line(c.attnCls.flat(), f32));
    if (c.size) out.push(line(c.size.flat(), f32));
    out.push(String(c.expectedSize[0].length), line(c.expectedX.flat(2), String), line(c.expectedSize.flat(), String));
  }
  const dst = path.join(root, 'native', 'cuda', 'merge_cases.txt');
  fs.writeFileSync(dst, `${out.join('\n')}\n`);
  return dst;
}

if (require.main === module) console.log(`wrote ${exportMergeCases()}`);
