// Seeded fuzzing of convert-with-turbo: mutated model.json files (structure, manifest, bytes),
// hostile shards and shard paths, option strings, and output targets, each run through the real
// CLI entry (in process, with a hang timeout). Every case must end in one of two ways: exit 0 with
// a complete output, or a non-zero exit with one line naming a file, no stack trace, no output and
// the input untouched. spec/cli/fuzz.spec.ts asserts that per case; `npm run fuzz` prints the
// tally by kind and outcome and can write it to docs/RELIABILITY.md.

import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CommanderError } from 'commander';
import { buildProgram } from '../src/cli/convert-with-turbo';
import { runProgram } from '../src/cli/run';
import { TurboInputError } from '../src/errors';
import { packageRoot } from '../src/paths';
import { replaceSection } from './markdown';
import { mulberry32 } from '../src/rng';

export const FIXTURES = ['vit-small', 'deit-small', 'clip-small', 'blip-small'].map((f) => path.join(packageRoot(), 'spec', 'fixtures', 'hf', f));
const MODEL_FILES = ['model.json', 'group1-shard1of1.bin'];
export const HANG_MS = 20000;

export type CaseKind = 'json-structure' | 'json-bytes' | 'manifest' | 'shard-file' | 'shard-path' | 'options' | 'output';
export const CASE_KINDS: CaseKind[] = ['json-structure', 'json-bytes', 'manifest', 'shard-file', 'shard-path', 'options', 'output'];

/** Seeded, and the same on every machine. */
export const rng = mulberry32;

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rand, n: number) => Math.floor(r() * n);

export interface FuzzCase {
  id: number;
  kind: CaseKind;
  fixture: string;
  /** What was done, for the failure message. */
  what: string;
  /** Prepares the input directory (and the output path); returns the CLI arguments after IN and OUT. */
  prepare: (inDir: string, outDir: string, work: string) => { args: string[]; outDir?: string };
}

const JUNK: unknown[] = [null, 0, -1, 1.5, 1e308, '', 'x', '../x', true, [], {}, [null], { a: 1 }, -0, 2 ** 53];

function allPaths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = [], limit = 4000): (string | number)[][] {
  if (out.length > limit || typeof v !== 'object' || v === null) return out;
  for (const [k, child] of Object.entries(v)) {
    const key = Array.isArray(v) ? Number(k) : k;
    out.push([...prefix, key]);
    allPaths(child, [...prefix, key], out, limit);
  }
  return out;
}

function getAt(root: any, p: (string | number)[]): any {
  return p.reduce((v, k) => (v == null ? v : v[k]), root);
}

function editJson(dir: string, edit: (j: any) => void): void {
  const file = path.join(dir, 'model.json');
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(j);
  fs.writeFileSync(file, JSON.stringify(j));
}

function structureMutation(r: Rand): [string, (j: any) => void] {
  const op = pick(r, ['delete', 'replace', 'duplicate-node', 'drop-node', 'rewire', 'rename-op', 'attr-junk'] as const);
  return [
    op,
    (j) => {
      const nodes: any[] = j.modelTopology?.node ?? [];
      const n = nodes[int(r, nodes.length)];
      switch (op) {
        case 'delete':
        case 'replace': {
          const paths = allPaths(j).filter((p) => p[0] !== 'weightsManifest');
          const p = pick(r, paths);
          const parent = getAt(j, p.slice(0, -1));
          if (op === 'delete') {
            if (Array.isArray(parent)) parent.splice(Number(p[p.length - 1]), 1);
            else delete parent[p[p.length - 1]];
          } else parent[p[p.length - 1]] = pick(r, JUNK);
          break;
        }
        case 'duplicate-node':
          nodes.splice(int(r, nodes.length), 0, JSON.parse(JSON.stringify(n)));
          break;
        case 'drop-node':
          nodes.splice(nodes.indexOf(n), 1);
          break;
        case 'rewire':
          if (n.input?.length) n.input[int(r, n.input.length)] = pick(r, nodes).name + pick(r, ['', ':1', ':7']);
          break;
        case 'rename-op':
          n.op = pick(r, ['Softmax', 'MatMul', 'NoSuchOp', 'TurboMerge', 'AddV2', '']);
          break;
        case 'attr-junk':
          n.attr = { ...(n.attr ?? {}), [pick(r, ['T', 'value', 'transpose_b', 'adj_y', 'dtype'])]: pick(r, JUNK) };
          break;
      }
    },
  ];
}

function manifestMutation(r: Rand): [string, (j: any) => void] {
  const op = pick(r, ['rename', 'swap-names', 'reshape', 'dtype', 'quantization', 'duplicate', 'drop', 'reorder', 'paths']);
  return [
    op,
    (j) => {
      const w: any[] = j.weightsManifest[0].weights;
      const a = w[int(r, w.length)];
      const b = w[int(r, w.length)];
      switch (op) {
        case 'rename':
          a.name += '_x';
          break;
        case 'swap-names':
          [a.name, b.name] = [b.name, a.name];
          break;
        case 'reshape':
          a.shape = pick(r, [[...a.shape].reverse(), [...a.shape, 1], [-1], [1.5], a.shape.map((d: number) => d * 2), 'x', []]);
          break;
        case 'dtype':
          a.dtype = pick(r, ['int32', 'float32', 'bool', 'float64', 'string', 'complex64', 7]);
          break;
        case 'quantization':
          a.quantization = pick(r, [{ dtype: 'uint8' }, { dtype: 'uint8', scale: 'x', min: 0 }, { dtype: 'int4' }, null, { dtype: 'float16', original_dtype: 'int32' }, 5]);
          break;
        case 'duplicate':
          w.push({ ...a });
          break;
        case 'drop':
          w.splice(w.indexOf(a), 1);
          break;
        case 'reorder':
          w.sort(() => r() - 0.5);
          break;
        case 'paths':
          j.weightsManifest[0].paths = pick(r, [[], ['a.bin', 'b.bin'], 'x', [7], [null]]);
          break;
      }
    },
  ];
}

const HOSTILE_PATHS = ['../outside.bin', '/etc/passwd', '/dev/zero', '../../../../../../dev/urandom', '', 'a\u0000b', 'sub/../../outside.bin', '.', 'model.json', 'fifo.bin', 'dir.bin', 'C:\\x.bin', '\\\\server\\x.bin'];

function shardFileMutation(r: Rand, shard: string, work: string): [string, () => void] {
  const op = pick(r, ['truncate', 'empty', 'extend', 'delete', 'fifo', 'directory', 'symlink-outside', 'symlink-dev-zero', 'symlink-loop', 'garbage']);
  return [
    op,
    () => {
      const size = fs.statSync(shard).size;
      switch (op) {
        case 'truncate':
          fs.truncateSync(shard, int(r, size));
          break;
        case 'empty':
          fs.truncateSync(shard, 0);
          break;
        case 'extend':
          fs.truncateSync(shard, size + 1 + int(r, 1 << 20));
          break;
        case 'delete':
          fs.rmSync(shard);
          break;
        case 'fifo':
          fs.rmSync(shard);
          execFileSync('mkfifo', [shard]);
          break;
        case 'directory':
          fs.rmSync(shard);
          fs.mkdirSync(shard);
          break;
        case 'symlink-outside':
          fs.renameSync(shard, path.join(work, 'outside.bin'));
          fs.symlinkSync(path.join(work, 'outside.bin'), shard);
          break;
        case 'symlink-dev-zero':
          fs.rmSync(shard);
          fs.symlinkSync('/dev/zero', shard);
          break;
        case 'symlink-loop':
          fs.rmSync(shard);
          fs.symlinkSync(path.basename(shard), shard);
          break;
        case 'garbage':
          fs.writeFileSync(shard, crypto.randomBytes(size));
          break;
      }
    },
  ];
}

function bytesMutation(r: Rand, file: string): [string, () => void] {
  const op = pick(r, ['truncate', 'flip', 'insert', 'fifo', 'directory', 'empty', 'not-object', 'huge-number']);
  return [
    op,
    () => {
      const text = fs.readFileSync(file, 'utf8');
      switch (op) {
        case 'truncate':
          fs.writeFileSync(file, text.slice(0, int(r, text.length)));
          break;
        case 'flip': {
          const buf = Buffer.from(text);
          for (let k = 0; k < 1 + int(r, 8); k++) buf[int(r, buf.length)] = int(r, 256);
          fs.writeFileSync(file, buf);
          break;
        }
        case 'insert': {
          const at = int(r, text.length);
          fs.writeFileSync(file, text.slice(0, at) + pick(r, ['{', ']', '"', ',', 'null', '\u0000', '[[[[[[[[']) + text.slice(at));
          break;
        }
        case 'fifo':
          fs.rmSync(file);
          execFileSync('mkfifo', [file]);
          break;
        case 'directory':
          fs.rmSync(file);
          fs.mkdirSync(file);
          break;
        case 'empty':
          fs.writeFileSync(file, '');
          break;
        case 'not-object':
          fs.writeFileSync(file, pick(r, ['[]', '7', 'null', '"model"', `${'['.repeat(20000)}${']'.repeat(20000)}`]));
          break;
        case 'huge-number':
          fs.writeFileSync(file, text.replace(/"size": ?"(\d+)"/, '"size": "99999999999999999999"'));
          break;
      }
    },
  ];
}

const OPTION_VALUES = ['16', '0', '-1', '2.5', '1e9', '0x10', '2e-400', 'Infinity', 'NaN', '', ' ', '99999999', '4,', ',', '4,x', '20,-0.5', '20,-5', '1,2,3', '08', '+3', '٣'];
const OPTIONS = ['--r', '--r-list', '--alpha', '--beta', '--gamma', '--r-threshold'];

function optionMutation(r: Rand): string[] {
  const args: string[] = [];
  for (let k = 0; k < 1 + int(r, 3); k++) {
    const o = pick(r, [...OPTIONS, '--no-prop-attn', '--architecture', '--strip', '--dry-run', '--bogus']);
    if (o === '--no-prop-attn' || o === '--strip' || o === '--dry-run' || o === '--bogus') args.push(o);
    else if (o === '--architecture') args.push(o, pick(r, ['vit', 'deit', 'clip', 'blip', 'resnet', '']));
    else args.push(o, pick(r, OPTION_VALUES));
  }
  return args;
}

function outputMutation(r: Rand): [string, (inDir: string, outDir: string, work: string) => { args: string[]; outDir?: string }] {
  const op = pick(r, ['file', 'fifo', 'symlink', 'junk-dir', 'model-dir', 'empty-dir', 'input', 'inside-input', 'input-via-link', 'parent-is-file', 'parent-link-into-input']);
  return [
    op,
    (inDir, outDir, work) => {
      const force = r() < 0.7 ? ['--force'] : [];
      switch (op) {
        case 'file':
          fs.writeFileSync(outDir, 'precious');
          break;
        case 'fifo':
          execFileSync('mkfifo', [outDir]);
          break;
        case 'symlink':
          fs.mkdirSync(path.join(work, 'elsewhere'));
          fs.symlinkSync(path.join(work, 'elsewhere'), outDir);
          break;
        case 'junk-dir':
          fs.mkdirSync(outDir);
          fs.writeFileSync(path.join(outDir, 'notes.txt'), 'mine');
          break;
        case 'model-dir':
          fs.mkdirSync(outDir);
          for (const f of MODEL_FILES) fs.copyFileSync(path.join(inDir, f), path.join(outDir, f));
          break;
        case 'empty-dir':
          fs.mkdirSync(outDir);
          break;
        case 'input':
          return { args: force, outDir: inDir };
        case 'inside-input':
          return { args: force, outDir: path.join(inDir, 'out') };
        case 'input-via-link':
          fs.symlinkSync(inDir, outDir);
          return { args: force, outDir: inDir };
        case 'parent-is-file':
          fs.writeFileSync(path.join(work, 'plain'), '');
          return { args: force, outDir: path.join(work, 'plain', 'out') };
        case 'parent-link-into-input':
          fs.symlinkSync(inDir, path.join(work, 'into'));
          return { args: force, outDir: path.join(work, 'into', 'out') };
      }
      return { args: force };
    },
  ];
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

export type Outcome = 'converted' | 'input' | 'manifest' | 'graph' | 'options' | 'output' | 'internal' | 'usage' | 'hang';

export interface CaseResult {
  c: FuzzCase;
  outcome: Outcome;
  code: number;
  stderr: string;
  /** Problems with how the case ended; empty when it ended properly. */
  violations: string[];
}

function hashTree(dir: string): string {
  const h = crypto.createHash('sha256');
  const walk = (d: string) => {
    for (const f of fs.readdirSync(d).sort()) {
      const p = path.join(d, f);
      const st = fs.lstatSync(p);
      h.update(`${f}:${st.mode}`);
      if (st.isFile()) h.update(fs.readFileSync(p));
      else if (st.isSymbolicLink()) h.update(fs.readlinkSync(p));
      else if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** Runs one case in a fresh work directory and checks how it ended. */
export async function runCase(c: FuzzCase, root: string): Promise<CaseResult> {
  const work = fs.mkdtempSync(path.join(root, `case${c.id}-`));
  try {
    const inDir = path.join(work, 'in');
    fs.mkdirSync(inDir);
    for (const f of MODEL_FILES) fs.copyFileSync(path.join(c.fixture, f), path.join(inDir, f));
    let outDir = path.join(work, 'out');
    const prep = c.prepare(inDir, outDir, work);
    outDir = prep.outDir ?? outDir;
    const inputBefore = hashTree(inDir);
    const workBefore = new Set(fs.readdirSync(work));
    const outBefore = fs.existsSync(outDir) ? fs.lstatSync(outDir) : undefined;

    let stderr = '';
    let error: unknown;
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), HANG_MS)));
    const run = runProgram(buildProgram(), [inDir, outDir, ...prep.args], { err: (s) => (stderr += s), onError: (e) => (error = e) });
    const code = await Promise.race([run, hang]).finally(() => clearTimeout(timer));
    if (code === 'hang') return { c, outcome: 'hang', code: -1, stderr, violations: [`no result after ${HANG_MS} ms`] };

    const violations: string[] = [];
    const outcome: Outcome =
      code === 0 ? 'converted' : error instanceof TurboInputError ? error.kind : error instanceof CommanderError ? 'usage' : 'internal';
    if (hashTree(inDir) !== inputBefore) violations.push('the input directory changed');
    if (/\n\s+at /.test(stderr)) violations.push('a stack trace was printed');
    if (outcome === 'internal') violations.push('an internal error (a bug) reached the user');
    if (code === 0) {
      if (!prep.args.includes('--dry-run') && !fs.existsSync(path.join(outDir, 'model.json'))) violations.push('exit 0 without an output model.json');
    } else {
      if (stderr.trimEnd().split('\n').length !== 1) violations.push(`stderr is not one line: ${JSON.stringify(stderr)}`);
      const after = fs.existsSync(outDir) ? fs.lstatSync(outDir) : undefined;
      if ((after === undefined) !== (outBefore === undefined) || (after && outBefore && (after.ino !== outBefore.ino || after.mtimeMs !== outBefore.mtimeMs))) {
        violations.push('OUT_DIR changed although the conversion failed');
      }
      const extra = fs.readdirSync(work).filter((f) => !workBefore.has(f));
      if (extra.length) violations.push(`left behind: ${extra.join(', ')}`);
    }
    return { c, outcome, code, stderr: stderr.trim(), violations };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export async function runFuzz(seed: number, count: number, onCase?: (r: CaseResult) => void): Promise<CaseResult[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-fuzz-'));
  const log = console.log;
  console.log = () => undefined; // the CLI's success report
  try {
    const results: CaseResult[] = [];
    for (const c of fuzzCases(seed, count)) {
      const res = await runCase(c, root);
      results.push(res);
      onCase?.(res);
    }
    return results;
  } finally {
    console.log = log;
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Cases by kind (rows) and outcome (columns), as a Markdown table. */
export function tallyTable(results: CaseResult[]): string {
  const outcomes = [...new Set(results.map((r) => r.outcome))].sort();
  const rows = CASE_KINDS.map((k) => {
    const mine = results.filter((r) => r.c.kind === k);
    return `| ${k} | ${mine.length} | ${outcomes.map((o) => mine.filter((r) => r.outcome === o).length).join(' | ')} | ${mine.filter((r) => r.violations.length).length} |`;
  });
  const total = `| **all** | ${results.length} | ${outcomes.map((o) => results.filter((r) => r.outcome === o).length).join(' | ')} | ${results.filter((r) => r.violations.length).length} |`;
  return [`| case kind | cases | ${outcomes.join(' | ')} | violations |`, `| --- | --- | ${outcomes.map(() => '---').join(' | ')} | --- |`, ...rows, total].join('\n');
}

async function main(): Promise<void> {
  const { Command } = await import('commander');
  const program = new Command('fuzz-convert')
    .option('--seed <n>', 'generator seed', (s) => Number.parseInt(s, 10), 1)
    .option('--cases <n>', 'number of cases', (s) => Number.parseInt(s, 10), 350)
    .option('--write <file>', 'replace the tally section of this Markdown file')
    .action(async (opts) => {
      const started = Date.now();
      const results = await runFuzz(opts.seed, opts.cases, (r) => {
        if (r.violations.length) process.stderr.write(`case ${r.c.id} (${r.c.kind}: ${r.c.what}): ${r.violations.join('; ')}\n`);
      });
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      const table = tallyTable(results);
      const cmd = `npm run fuzz -- --seed ${opts.seed} --cases ${opts.cases}`;
      const section = `${table}\n\n${results.length} cases in ${seconds} s (\`${cmd}\`, ${os.cpus().length} cores, Node ${process.version}).`;
      console.log(table);
      console.log(`\n${results.length} cases in ${seconds} s; ${results.filter((r) => r.violations.length).length} with violations`);
      if (opts.write) replaceSection(opts.write, 'fuzz', section);
      if (results.some((r) => r.violations.length)) process.exitCode = 1;
    });
  await program.parseAsync();
}

if (require.main === module) void main();
