// BLIP model directories (spec/fixtures/blip/small): config.json and tokenizer.json damaged,
// redirected or made to contradict the graphs; task folders and graph parts missing, swapped or
// replaced; images that are FIFOs or links; hostile output targets. Conversions run through
// `blip-turbo convert` and must leave an output that loads; the tasks run through caption, answer
// and retrieve on the wasm backend (always installed).

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../../src/paths';
import { mulberry32 as mulberry } from '../../../src/rng';
import { CANARY_FILE, OUTPUT_TARGETS, Rand, bytesMutation, editJson, fieldMutation, fileMutation, int, jsonValueMutation, linkToCanary, pick, prepareOutputTarget } from '../mutations';
import { copyTree, seededCases } from '../seeded';
import type { Prepared, Surface, SurfaceCase } from '../surface_run';

const FIXTURE = path.join(packageRoot(), 'spec', 'fixtures', 'blip', 'small');
const IMAGE = path.join(packageRoot(), 'spec', 'fixtures', 'images', '0411ca972e637297.jpg');
const TASKS = { caption: ['vision', 'decoder'], vqa: ['vision', 'question', 'answer'], retrieval: ['vision', 'text', 'itm'] } as const;
type Task = keyof typeof TASKS;

// 'canary': one file the run reads (config, tokenizer, a graph part's model.json or shard, the image) a link to the secret.
const KINDS = ['config', 'tokenizer', 'parts', 'output', 'task-config', 'task-image', 'task-parts', 'canary'] as const;

/** Fields the code reads or the graphs constrain (sizes, token ids, positions), and values that break them. */
const CONFIG_FIELDS = [
  ['image', 'size'],
  ['image', 'mean'],
  ['image', 'std'],
  ['imageTokens'],
  ['vocabSize'],
  ['maxPositionEmbeddings'],
  ['specialTokens', 'pad'],
  ['specialTokens', 'bos'],
  ['specialTokens', 'sep'],
  ['specialTokens', 'dec'],
  ['text', 'vocab_size'],
  ['text', 'max_position_embeddings'],
  ['vision', 'image_size'],
  ['vision', 'patch_size'],
] as const;
const CONFIG_VALUES = [0, -1, 1.5, 32, 65, 802, 99999, 1e9, 2 ** 31, 1e308, '64', null, [], {}, [0, 0, 0], [1, 1], [1e308, 1, 1], [-1, 0.5, 0.5]];

/** The fixture's files a case needs: config, tokenizer and the graphs of `tasks` (no reference data). */
function copyModel(to: string, tasks: readonly Task[]): void {
  copyTree(FIXTURE, to, (rel) => ['config.json', 'tokenizer.json'].includes(rel) || (tasks.some((t) => rel.startsWith(`${t}/`)) && /(model\.json|\.bin)$/.test(rel)));
}

/** config.json or tokenizer.json: a file operation, a JSON value, raw bytes, or (config) a field the graphs constrain. */
function topFileMutation(r: Rand, name: 'config.json' | 'tokenizer.json'): [string, (inDir: string, work: string) => void] {
  const how = pick(r, name === 'config.json' ? ['file', 'json', 'bytes', 'field', 'field'] : ['file', 'json', 'bytes']);
  // File operations draw from their own stream, so what they draw does not depend on when they run.
  if (how === 'file') {
    const seed = int(r, 2 ** 31);
    return [`${name} ${fileMutation(mulberry(seed), '', '')[0]}`, (d, work) => fileMutation(mulberry(seed), path.join(d, name), work)[1]()];
  }
  if (how === 'bytes') {
    const seed = int(r, 2 ** 31);
    return [`${name} bytes ${bytesMutation(mulberry(seed), '')[0]}`, (d) => bytesMutation(mulberry(seed), path.join(d, name))[1]()];
  }
  const [what, edit] = how === 'field' ? fieldMutation(r, CONFIG_FIELDS, CONFIG_VALUES) : jsonValueMutation(r);
  return [`${name} ${what}`, (d) => editJson(d, edit, name)];
}

/** Damage to the task folders and graph parts of a model directory holding `tasks`. */
function partsMutation(r: Rand, tasks: readonly Task[]): [string, (inDir: string, work: string) => void] {
  const task = pick(r, tasks);
  const part = pick(r, TASKS[task]);
  const op = pick(r, ['missing-task', 'missing-part', 'part-model-json', 'part-shard', 'task-link-outside', 'task-is-file', 'task-fifo', 'swap-parts', 'missing-top', 'part-link-canary']);
  const seed = int(r, 2 ** 31);
  const top = pick(r, ['config.json', 'tokenizer.json']);
  const fileOp = op === 'part-model-json' || op === 'part-shard' ? ` ${fileMutation(mulberry(seed), '', '')[0]}` : '';
  const what = `${op}${fileOp} ${op === 'missing-top' ? top : `${task}/${part}`}`;
  return [
    what,
    (d, work) => {
      const t = path.join(d, task);
      const p = path.join(t, part);
      switch (op) {
        case 'missing-task':
          fs.rmSync(t, { recursive: true });
          break;
        case 'missing-part':
          fs.rmSync(p, { recursive: true });
          break;
        case 'part-model-json':
          fileMutation(mulberry(seed), path.join(p, 'model.json'), work)[1]();
          break;
        case 'part-shard':
          fileMutation(mulberry(seed), path.join(p, 'group1-shard1of1.bin'), work)[1]();
          break;
        case 'task-link-outside':
          fs.renameSync(t, path.join(work, `${task}-outside`));
          fs.symlinkSync(path.join(work, `${task}-outside`), t);
          break;
        case 'task-is-file':
          fs.rmSync(t, { recursive: true });
          fs.writeFileSync(t, 'not a folder');
          break;
        case 'task-fifo':
          fs.rmSync(t, { recursive: true });
          execFileSync('mkfifo', [t]);
          break;
        case 'swap-parts': {
          const other = path.join(t, TASKS[task].find((x) => x !== part)!);
          fs.renameSync(p, `${p}.swap`);
          fs.renameSync(other, p);
          fs.renameSync(`${p}.swap`, other);
          break;
        }
        case 'missing-top':
          fs.rmSync(path.join(d, top));
          break;
        case 'part-link-canary':
          fs.rmSync(p, { recursive: true });
          fs.mkdirSync(p);
          fs.symlinkSync(path.join(work, CANARY_FILE), path.join(p, 'model.json'));
          break;
      }
    },
  ];
}

/** OUT_DIR of a conversion: what is there before, and whether --force is given. */
function outputMutation(r: Rand): [string, (inDir: string, outDir: string, work: string) => { args: string[]; outDir?: string }] {
  const op = pick(r, OUTPUT_TARGETS);
  const force = r() < 0.7 ? ['--force'] : [];
  return [`${op}${force.length ? ' --force' : ''}`, (inDir, outDir, work) => prepareOutputTarget(op, inDir, outDir, work, force)];
}

/** A complete conversion: the top files are real files that parse (the follow-up load checks the rest). */
function convertedProblems(outDir: string): string[] {
  return ['config.json', 'tokenizer.json'].flatMap((f) => {
    const p = path.join(outDir, f);
    if (!fs.existsSync(p)) return [`exit 0 without ${f} in OUT_DIR`];
    if (!fs.lstatSync(p).isFile()) return [`OUT_DIR/${f} is not a regular file`];
    try {
      JSON.parse(fs.readFileSync(p, 'utf8'));
      return [];
    } catch {
      return [`OUT_DIR/${f} was written without being valid JSON`];
    }
  });
}

function convertCase(work: string, mutate: (inDir: string, work: string) => void): Prepared {
  const inDir = path.join(work, 'in');
  const outDir = path.join(work, 'out');
  copyModel(inDir, Object.keys(TASKS) as Task[]);
  mutate(inDir, work);
  return { argv: ['blip-convert', inDir, outDir], inputs: [inDir], outDir, success: 'converted', successProblems: () => convertedProblems(outDir) };
}

/** caption, answer or retrieve on a model holding only `task`'s graphs, with one image. */
function taskCase(work: string, task: Task, mutate: (inDir: string, image: string, work: string) => void): Prepared {
  const inDir = path.join(work, 'in');
  const images = path.join(work, 'images');
  const image = path.join(images, 'photo.jpg');
  copyModel(inDir, [task]);
  fs.mkdirSync(images);
  fs.copyFileSync(IMAGE, image);
  mutate(inDir, image, work);
  const common = ['--backend', 'wasm'];
  const argv =
    task === 'caption'
      ? ['blip-turbo', 'caption', inDir, image, '--max-length', '4', ...common]
      : task === 'vqa'
        ? ['blip-turbo', 'answer', inDir, image, 'what is it?', '--max-length', '4', ...common]
        : ['blip-turbo', 'retrieve', inDir, '--images', image, '--texts', 'a dog', 'a cat', '--k', '2', ...common];
  return { argv, inputs: [inDir, images], success: 'ran' };
}

function blipCase(id: number, kind: string, r: Rand): SurfaceCase {
  const task = pick(r, Object.keys(TASKS) as Task[]);
  const base = { id, kind };
  switch (kind) {
    case 'config':
    case 'tokenizer': {
      const [what, mutate] = topFileMutation(r, kind === 'config' ? 'config.json' : 'tokenizer.json');
      return { ...base, what, prepare: (w) => convertCase(w, mutate) };
    }
    case 'parts': {
      const [what, mutate] = partsMutation(r, Object.keys(TASKS) as Task[]);
      return { ...base, what, prepare: (w) => convertCase(w, mutate) };
    }
    case 'output': {
      const [what, target] = outputMutation(r);
      return {
        ...base,
        what,
        prepare: (w) => {
          const prep = convertCase(w, () => undefined);
          const t = target(prep.argv[1], prep.outDir!, w);
          const outDir = t.outDir ?? prep.outDir!;
          return { ...prep, argv: ['blip-convert', prep.argv[1], outDir, ...t.args], outDir, successProblems: () => convertedProblems(outDir) };
        },
      };
    }
    case 'task-config': {
      const [what, mutate] = topFileMutation(r, pick(r, ['config.json', 'config.json', 'tokenizer.json']));
      return { ...base, what: `${task}: ${what}`, prepare: (w) => taskCase(w, task, (d) => mutate(d, w)) };
    }
    case 'task-image': {
      const seed = int(r, 2 ** 31);
      const op = pick(r, ['file', 'file', 'text', 'directory-name']);
      return {
        ...base,
        what: `${task}: image ${op}${op === 'file' ? ` ${fileMutation(mulberry(seed), '', '')[0]}` : ''}`,
        prepare: (w) =>
          taskCase(w, task, (_d, image) => {
            if (op === 'file') fileMutation(mulberry(seed), image, w)[1]();
            else if (op === 'text') fs.writeFileSync(image, 'not an image\n');
            else (fs.rmSync(image), fs.mkdirSync(image));
          }),
      };
    }
    case 'canary': {
      const part = pick(r, TASKS[task]);
      const file = pick(r, ['config.json', 'tokenizer.json', `${task}/${part}/model.json`, `${task}/${part}/group1-shard1of1.bin`, 'image']);
      const run = file === 'image' || r() < 0.5 ? 'task' : 'convert';
      return {
        ...base,
        what: `${run === 'task' ? task : 'convert'}: ${file} -> canary`,
        prepare: (w) =>
          run === 'task' ? taskCase(w, task, (d, image) => linkToCanary(file === 'image' ? image : path.join(d, file), w)) : convertCase(w, (d) => linkToCanary(path.join(d, file), w)),
      };
    }
    default: {
      const [what, mutate] = partsMutation(r, [task]);
      return { ...base, what: `${task}: ${what}`, prepare: (w) => taskCase(w, task, (d) => mutate(d, w)) };
    }
  }
}

export const blipSurface: Surface = {
  name: 'blip',
  kinds: KINDS,
  missing: () => (fs.existsSync(FIXTURE) ? null : `${FIXTURE} is missing`),
  cases: (seed, count) => seededCases(seed, count, KINDS, blipCase),
};
