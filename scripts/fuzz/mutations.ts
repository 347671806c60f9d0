// The fuzzer's mutations of a model directory, its options and its output target, each drawn from
// a seeded generator (cases.ts puts them together into cases).

import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

/** The files of every fixture model directory (a graph model in one shard). */
export const MODEL_FILES = ['model.json', 'group1-shard1of1.bin'];

export type Rand = () => number;
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
export const int = (r: Rand, n: number) => Math.floor(r() * n);

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

export function editJson(dir: string, edit: (j: any) => void, name = 'model.json'): void {
  const file = path.join(dir, name);
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(j);
  fs.writeFileSync(file, JSON.stringify(j));
}

/** Deletes a random value of a JSON document, or replaces it with junk (paths passing `keep` only). */
function deleteOrReplace(r: Rand, j: any, op: 'delete' | 'replace', keep: (p: (string | number)[]) => boolean = () => true): void {
  const p = pick(r, allPaths(j).filter(keep));
  if (!p) return;
  const parent = getAt(j, p.slice(0, -1));
  if (op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(p[p.length - 1]), 1);
    else delete parent[p[p.length - 1]];
  } else parent[p[p.length - 1]] = pick(r, JUNK);
}

/** Any JSON document (a BLIP config, a tokenizer, preprocessing.json): one value deleted or replaced with junk. */
export function jsonValueMutation(r: Rand): [string, (j: any) => void] {
  const op = pick(r, ['delete', 'replace'] as const);
  return [`json-${op}`, (j) => deleteOrReplace(r, j, op)];
}

/** One of `fields` (a path into the document) set to one of `values`, creating objects on the way. */
export function fieldMutation(r: Rand, fields: readonly (readonly string[])[], values: readonly unknown[]): [string, (j: any) => void] {
  const f = pick(r, fields);
  const v = pick(r, values);
  return [
    `${f.join('.')}=${JSON.stringify(v)}`,
    (j) => {
      const parent = f.slice(0, -1).reduce((o, k) => (typeof o[k] === 'object' && o[k] !== null ? o[k] : (o[k] = {})), j);
      parent[f[f.length - 1]] = v;
    },
  ];
}

export function structureMutation(r: Rand): [string, (j: any) => void] {
  const op = pick(r, ['delete', 'replace', 'duplicate-node', 'drop-node', 'rewire', 'rename-op', 'attr-junk'] as const);
  return [
    op,
    (j) => {
      const nodes: any[] = j.modelTopology?.node ?? [];
      const n = nodes[int(r, nodes.length)];
      switch (op) {
        case 'delete':
        case 'replace':
          deleteOrReplace(r, j, op, (p) => p[0] !== 'weightsManifest');
          break;
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

export function manifestMutation(r: Rand): [string, (j: any) => void] {
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

export const HOSTILE_PATHS = ['../outside.bin', '/etc/passwd', '/dev/zero', '../../../../../../dev/urandom', '', 'a\u0000b', 'sub/../../outside.bin', '.', 'model.json', 'fifo.bin', 'dir.bin', 'C:\\x.bin', '\\\\server\\x.bin'];

const SHARD_FILE_OPS = ['truncate', 'empty', 'extend', 'delete', 'fifo', 'directory', 'symlink-outside', 'symlink-dev-zero', 'symlink-loop', 'garbage'] as const;
export type FileOp = (typeof SHARD_FILE_OPS)[number] | 'symlink-canary';
/**
 * The shard operations plus a link to the secret canary outside the input (the surfaces after the
 * graph one), listed three times: a read outside the input is the worst finding, so one file
 * operation in five tries it.
 */
export const FILE_OPS: readonly FileOp[] = [...SHARD_FILE_OPS, 'symlink-canary', 'symlink-canary', 'symlink-canary'];

/**
 * The secret planted outside every input of the surfaces after the graph one (beside the input in
 * the case's work directory; surface_run.ts writes it): links point at it, and its contents must
 * never appear in a message or an output file. A real secret, unlike /etc/passwd, is known to be
 * nowhere else.
 */
export const CANARY_FILE = 'canary.secret';

/** Replaces `file` by a symlink to the secret canary in `work` (outside the input). */
export function linkToCanary(file: string, work: string): void {
  fs.rmSync(file, { recursive: true, force: true });
  fs.symlinkSync(path.join(work, CANARY_FILE), file);
}

export function shardFileMutation(r: Rand, shard: string, work: string): [string, () => void] {
  return fileMutation(r, shard, work, SHARD_FILE_OPS);
}

/** Damages, replaces or redirects one file of an input (`work` is the case's directory outside the input). */
export function fileMutation(r: Rand, shard: string, work: string, ops: readonly FileOp[] = FILE_OPS): [string, () => void] {
  const op = pick(r, ops);
  return [
    op,
    () => {
      const size = fs.statSync(shard).size;
      switch (op) {
        case 'symlink-canary':
          linkToCanary(shard, work);
          break;
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

export function bytesMutation(r: Rand, file: string): [string, () => void] {
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

export function optionMutation(r: Rand): string[] {
  const args: string[] = [];
  for (let k = 0; k < 1 + int(r, 3); k++) {
    const o = pick(r, [...OPTIONS, '--no-prop-attn', '--architecture', '--strip', '--dry-run', '--bogus']);
    if (o === '--no-prop-attn' || o === '--strip' || o === '--dry-run' || o === '--bogus') args.push(o);
    else if (o === '--architecture') args.push(o, pick(r, ['vit', 'deit', 'clip', 'blip', 'resnet', '']));
    else args.push(o, pick(r, OPTION_VALUES));
  }
  return args;
}

export function outputMutation(r: Rand): [string, (inDir: string, outDir: string, work: string) => { args: string[]; outDir?: string }] {
  // 'model-dir' fifth, where it always was: the same seed picks the same cases.
  const op = pick(r, [...OUTPUT_TARGETS.slice(0, 4), 'model-dir', ...OUTPUT_TARGETS.slice(4)]);
  return [
    op,
    (inDir, outDir, work) => {
      const force = r() < 0.7 ? ['--force'] : [];
      if (op !== 'model-dir') return prepareOutputTarget(op, inDir, outDir, work, force);
      fs.mkdirSync(outDir);
      for (const f of MODEL_FILES) fs.copyFileSync(path.join(inDir, f), path.join(outDir, f));
      return { args: force };
    },
  ];
}

/** What can stand at OUT_DIR before a conversion (the graph surface adds an existing model). */
export const OUTPUT_TARGETS = ['file', 'fifo', 'symlink', 'junk-dir', 'empty-dir', 'input', 'inside-input', 'input-via-link', 'parent-is-file', 'parent-link-into-input'] as const;

/** Puts `op` in place at OUT_DIR; the OUT_DIR the CLI is then given, when it is not `outDir`. */
export function prepareOutputTarget(op: string, inDir: string, outDir: string, work: string, force: string[]): { args: string[]; outDir?: string } {
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
}
