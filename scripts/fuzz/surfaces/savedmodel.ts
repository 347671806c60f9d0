// SavedModel directories for loadTurboSavedModel: one written once per run by `convert-with-turbo
// --format savedmodel` from the small HF ViT (with Turbo ops, so the op library is loaded too),
// then per case saved_model.pb damaged, replaced or redirected, a variables checkpoint planted in
// its empty variables/ (the writer folds the weights into the graph, but TensorFlow restores one
// when it is there), or the directory's layout broken. A case loads the model and runs one predict
// on zeros.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../../src/paths';
import { mulberry32 } from '../../../src/rng';
import { CANARY_FILE, Rand, fileMutation, int, linkToCanary, pick } from '../mutations';
import { copyTree, seededCases } from '../seeded';
import { Surface, SurfaceCase, runChild } from '../surface_run';
import { nativeMissing } from './native';

const MODEL = path.join(packageRoot(), 'spec', 'fixtures', 'hf', 'vit-small');
// 'canary': saved_model.pb a link to the secret (the checkpoint files get theirs in 'variables').
const KINDS = ['pb', 'variables', 'dir', 'canary'] as const;
const VARIABLE_FILES = ['variables/variables.index', 'variables/variables.data-00000-of-00001'];
const CHECKPOINT_PLANTS = ['garbage', 'empty', 'fifo', 'dev-zero', 'canary', 'directory'] as const;

/** Seeded byte damage: flips, a cut, or junk before or after (garbage a parser must survive). */
function damageBytes(r: Rand, file: string): void {
  const buf = fs.readFileSync(file);
  const op = pick(r, ['flip', 'flip', 'truncate', 'prepend', 'append']);
  const junk = Buffer.from(Array.from({ length: 1 + int(r, 64) }, () => int(r, 256)));
  if (op === 'flip') {
    for (let k = 0; k < 1 + int(r, 16); k++) buf[int(r, buf.length)] = int(r, 256);
    fs.writeFileSync(file, buf);
  } else if (op === 'truncate') fs.writeFileSync(file, buf.subarray(0, int(r, buf.length)));
  else fs.writeFileSync(file, op === 'prepend' ? Buffer.concat([junk, buf]) : Buffer.concat([buf, junk]));
}

function fileOrBytes(seed: number, rel: string): [string, (dir: string, work: string) => void] {
  const r = mulberry32(seed);
  if (r() < 0.5) {
    const op = fileMutation(mulberry32(seed + 1), '', '')[0];
    return [`${rel} ${op}`, (d, w) => fileMutation(mulberry32(seed + 1), path.join(d, rel), w)[1]()];
  }
  return [`${rel} bytes`, (d) => damageBytes(mulberry32(seed + 2), path.join(d, rel))];
}

/** A variables checkpoint file where the writer leaves none: junk, a FIFO, a link to /dev/zero or to the secret. */
function checkpointMutation(r: Rand): [string, (dir: string, work: string) => void] {
  const rel = pick(r, VARIABLE_FILES);
  const op = pick(r, CHECKPOINT_PLANTS);
  const junk = Buffer.from(Array.from({ length: 16 + int(r, 256) }, () => int(r, 256)));
  return [
    `${rel} ${op}`,
    (d, w) => {
      const file = path.join(d, rel);
      // Both files exist (TensorFlow looks for the index and then the data it names); one is the planted one.
      for (const f of VARIABLE_FILES) fs.writeFileSync(path.join(d, f), '');
      fs.rmSync(file);
      if (op === 'garbage') fs.writeFileSync(file, junk);
      else if (op === 'empty') fs.writeFileSync(file, '');
      else if (op === 'fifo') execFileSync('mkfifo', [file]);
      else if (op === 'dev-zero') fs.symlinkSync('/dev/zero', file);
      else if (op === 'canary') fs.symlinkSync(path.join(w, CANARY_FILE), file);
      else fs.mkdirSync(file);
    },
  ];
}

function dirMutation(r: Rand): [string, (dir: string, work: string) => void] {
  const op = pick(r, ['missing', 'file', 'fifo', 'no-pb', 'no-variables', 'variables-file', 'variables-link-outside', 'pb-link-canary', 'empty', 'link-to-dir']);
  return [
    op,
    (d, w) => {
      switch (op) {
        case 'missing':
          fs.rmSync(d, { recursive: true });
          break;
        case 'file':
          fs.rmSync(d, { recursive: true });
          fs.writeFileSync(d, 'not a folder');
          break;
        case 'fifo':
          fs.rmSync(d, { recursive: true });
          execFileSync('mkfifo', [d]);
          break;
        case 'no-pb':
          fs.rmSync(path.join(d, 'saved_model.pb'));
          break;
        case 'no-variables':
          fs.rmSync(path.join(d, 'variables'), { recursive: true });
          break;
        case 'variables-file':
          fs.rmSync(path.join(d, 'variables'), { recursive: true });
          fs.writeFileSync(path.join(d, 'variables'), '');
          break;
        case 'variables-link-outside':
          fs.renameSync(path.join(d, 'variables'), path.join(w, 'variables-outside'));
          fs.symlinkSync(path.join(w, 'variables-outside'), path.join(d, 'variables'));
          break;
        case 'pb-link-canary':
          fs.rmSync(path.join(d, 'saved_model.pb'));
          fs.symlinkSync(path.join(w, CANARY_FILE), path.join(d, 'saved_model.pb'));
          break;
        case 'empty':
          fs.rmSync(d, { recursive: true });
          fs.mkdirSync(d);
          break;
        case 'link-to-dir':
          // The directory the caller names is a link: fine, it is the caller's choice.
          fs.renameSync(d, path.join(w, 'real-savedmodel'));
          fs.symlinkSync(path.join(w, 'real-savedmodel'), d);
          break;
      }
    },
  ];
}

function savedModelCase(root: string) {
  return (id: number, kind: string, r: Rand): SurfaceCase => {
    const seed = int(r, 2 ** 31);
    const [what, mutate]: [string, (dir: string, work: string) => void] =
      kind === 'pb'
        ? fileOrBytes(seed, 'saved_model.pb')
        : kind === 'variables'
          ? checkpointMutation(r)
          : kind === 'canary'
            ? ['saved_model.pb -> canary', (d, w) => linkToCanary(path.join(d, 'saved_model.pb'), w)]
            : dirMutation(r);
    return {
      id,
      kind,
      what,
      prepare: (work) => {
        const dir = path.join(work, 'savedmodel');
        copyTree(path.join(root, 'savedmodel'), dir);
        mutate(dir, work);
        const real = path.join(work, 'real-savedmodel');
        const inputs = [fs.existsSync(real) ? real : dir].filter((d) => fs.existsSync(d) && fs.statSync(d).isDirectory());
        return { argv: ['load-savedmodel', dir], inputs, success: 'loaded' };
      },
    };
  };
}

export const savedModelSurface: Surface = {
  name: 'savedmodel',
  kinds: KINDS,
  missing: nativeMissing,
  async setup(root) {
    const run = await runChild(root, ['convert-with-turbo', MODEL, path.join(root, 'savedmodel'), '--format', 'savedmodel', '--r', '2']);
    if (run.result?.code !== 0) throw new Error(`writing the SavedModel to fuzz failed: ${run.stderr.trim()}`);
    fs.rmSync(path.join(root, 'tmp'), { recursive: true, force: true });
  },
  cases: (seed, count, root) => seededCases(seed, count, KINDS, savedModelCase(root)),
};
