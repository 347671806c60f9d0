// Calibration folders for the auto-tuner (`convert-with-turbo --target-flops X --calibrate DIR`):
// labels.csv damaged, redirected or naming files it should not; images that are FIFOs, links or
// not images; the model's preprocessing.json with sizes and statistics no image can meet; the
// folder itself missing, a file, a FIFO, empty. The model is the small HF ViT (64x64).

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../../src/paths';
import { mulberry32 } from '../../../src/rng';
import { CANARY_FILE, HOSTILE_PATHS, MODEL_FILES, Rand, bytesMutation, editJson, fieldMutation, fileMutation, int, jsonValueMutation, linkToCanary, pick } from '../mutations';
import { seededCases } from '../seeded';
import type { Prepared, Surface, SurfaceCase } from '../surface_run';

const MODEL = path.join(packageRoot(), 'spec', 'fixtures', 'hf', 'vit-small');
const IMAGES = path.join(packageRoot(), 'spec', 'fixtures', 'images');
/** As spec/tune/tune.spec.ts: the fixture's 64x64 input. */
const PREP = { resize_shortest_side: 64, center_crop: 64, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
/** Four images: two to search on, two to confirm. */
const N_IMAGES = 4;
const NAMES = fs.existsSync(IMAGES) ? fs.readdirSync(IMAGES).filter((f) => f.endsWith('.jpg')).sort().slice(0, N_IMAGES) : [];

// 'canary': labels.csv, an image or preprocessing.json a link to the secret.
const KINDS = ['labels', 'image', 'preprocessing', 'folder', 'canary'] as const;

const PREP_FIELDS = [['resize_shortest_side'], ['center_crop'], ['mean'], ['std'], ['interpolation']] as const;
const PREP_VALUES = [0, -1, 1.5, 63, 65, 1e9, 1e308, '64', null, [], {}, [0, 0, 0], [0.5, 0.5], [1e308, 1, 1], [-1, -1, -1], [1e-30, 1e-30, 1e-30], 'nearest', 'bogus'];

/** labels.csv contents that break a rule: hostile names, junk labels, a broken CSV. */
function labelsText(r: Rand, names: string[]): [string, string] {
  const rows = names.map((n, i) => `${n},${i}`);
  const op = pick(r, ['hostile-name', 'canary-name', 'label', 'no-header', 'duplicate', 'quote', 'bom-crlf', 'empty', 'header-only', 'missing-image', 'extra-columns']);
  const at = int(r, rows.length);
  switch (op) {
    case 'hostile-name': {
      const p = pick(r, [...HOSTILE_PATHS, 'sub/../x.jpg', `../${CANARY_FILE}`]);
      rows[at] = `"${p.replace(/"/g, '""')}",${at}`;
      return [`${op} ${JSON.stringify(p)}`, ['file,label', ...rows].join('\n')];
    }
    case 'canary-name':
      // An image name inside the folder that is a link to the secret (prepare makes the link).
      rows[at] = `leak.jpg,${at}`;
      return [op, ['file,label', ...rows].join('\n')];
    case 'label':
      rows[at] = `${names[at]},${pick(r, ['-1', '1.5', 'cat', '', '1e3', '99999999999999999999', ' 7 '])}`;
      return [`${op} ${rows[at]}`, ['file,label', ...rows].join('\n')];
    case 'no-header':
      return [op, rows.join('\n')];
    case 'duplicate':
      return [op, ['file,label', ...rows, rows[at]].join('\n')];
    case 'quote':
      return [op, ['file,label', ...rows, '"unterminated.jpg,1'].join('\n')];
    case 'bom-crlf':
      return [op, `\ufeff${['file,label', ...rows].join('\r\n')}\r\n`];
    case 'empty':
      return [op, ''];
    case 'header-only':
      return [op, 'file,label\n'];
    case 'missing-image':
      return [op, ['file,label', ...rows, 'absent.jpg,1'].join('\n')];
    default:
      return [op, ['label,file,extra', ...names.map((n, i) => `${i},${n},x`)].join('\n')];
  }
}

interface Layout {
  model: string;
  cal: string;
}

function layout(work: string): Layout {
  const model = path.join(work, 'model');
  const cal = path.join(work, 'calibration');
  fs.mkdirSync(model);
  for (const f of MODEL_FILES) fs.copyFileSync(path.join(MODEL, f), path.join(model, f));
  fs.writeFileSync(path.join(model, 'preprocessing.json'), JSON.stringify(PREP));
  fs.mkdirSync(cal);
  for (const f of NAMES) fs.copyFileSync(path.join(IMAGES, f), path.join(cal, f));
  fs.writeFileSync(path.join(cal, 'labels.csv'), ['file,label', ...NAMES.map((n, i) => `${n},${i}`)].join('\n'));
  return { model, cal };
}

/** A tuned model: model.json and the search log, whose numbers are all finite (JSON writes NaN as null). */
function tunedProblems(outDir: string): string[] {
  const log = path.join(outDir, 'turbo-tune.json');
  if (!fs.existsSync(path.join(outDir, 'model.json'))) return ['exit 0 without an output model.json'];
  if (!fs.existsSync(log)) return ['exit 0 without turbo-tune.json'];
  return /\bnull\b/.test(fs.readFileSync(log, 'utf8')) ? ['turbo-tune.json holds null: a NaN or infinite score was accepted'] : [];
}

function calibrationCase(id: number, kind: string, r: Rand): SurfaceCase {
  const seed = int(r, 2 ** 31);
  let what: string;
  let mutate: (l: Layout, work: string) => string | void;
  switch (kind) {
    case 'labels': {
      if (r() < 0.4) {
        const op = fileMutation(mulberry32(seed), '', '')[0];
        what = `labels.csv ${op}`;
        mutate = (l, w) => void fileMutation(mulberry32(seed), path.join(l.cal, 'labels.csv'), w)[1]();
      } else {
        const [op, text] = labelsText(r, NAMES);
        what = `labels.csv ${op}`;
        mutate = (l, w) => {
          fs.writeFileSync(path.join(l.cal, 'labels.csv'), text);
          fs.symlinkSync(path.join(w, CANARY_FILE), path.join(l.cal, 'leak.jpg'));
        };
      }
      break;
    }
    case 'image': {
      const which = int(r, N_IMAGES);
      const op = pick(r, ['file', 'file', 'text', 'truncated-jpeg']);
      what = `image ${op}${op === 'file' ? ` ${fileMutation(mulberry32(seed), '', '')[0]}` : ''}`;
      mutate = (l, w) => {
        const image = path.join(l.cal, NAMES[which]);
        if (op === 'file') fileMutation(mulberry32(seed), image, w)[1]();
        else if (op === 'text') fs.writeFileSync(image, 'not an image\n');
        else fs.truncateSync(image, 600);
      };
      break;
    }
    case 'preprocessing': {
      const how = pick(r, ['field', 'field', 'json', 'bytes', 'file']);
      const [op, edit] = how === 'field' ? fieldMutation(r, PREP_FIELDS, PREP_VALUES) : how === 'json' ? jsonValueMutation(r) : [how, () => undefined];
      const detail = how === 'file' ? fileMutation(mulberry32(seed), '', '')[0] : how === 'bytes' ? bytesMutation(mulberry32(seed), '')[0] : '';
      what = `preprocessing.json ${op}${detail ? ` ${detail}` : ''}`;
      mutate = (l, w) => {
        const file = path.join(l.model, 'preprocessing.json');
        if (how === 'file') fileMutation(mulberry32(seed), file, w)[1]();
        else if (how === 'bytes') bytesMutation(mulberry32(seed), file)[1]();
        else editJson(l.model, edit, 'preprocessing.json');
      };
      break;
    }
    case 'canary': {
      const file = pick(r, ['labels.csv', 'image', 'preprocessing.json']);
      const which = int(r, N_IMAGES);
      what = `${file} -> canary`;
      mutate = (l, w) => linkToCanary(file === 'preprocessing.json' ? path.join(l.model, file) : path.join(l.cal, file === 'image' ? NAMES[which] : file), w);
      break;
    }
    default: {
      const op = pick(r, ['missing', 'file', 'fifo', 'empty', 'one-image', 'no-labels', 'no-labels-link-canary', 'no-labels-dir-named-jpg', 'link-to-folder']);
      what = `folder ${op}`;
      mutate = (l, w) => {
        const moved = path.join(w, 'calibration-real');
        switch (op) {
          case 'missing':
            fs.rmSync(l.cal, { recursive: true });
            break;
          case 'file':
            fs.rmSync(l.cal, { recursive: true });
            fs.writeFileSync(l.cal, 'not a folder');
            break;
          case 'fifo':
            fs.rmSync(l.cal, { recursive: true });
            execFileSync('mkfifo', [l.cal]);
            break;
          case 'empty':
            fs.rmSync(l.cal, { recursive: true });
            fs.mkdirSync(l.cal);
            break;
          case 'one-image':
            fs.writeFileSync(path.join(l.cal, 'labels.csv'), `file,label\n${NAMES[0]},0\n`);
            break;
          case 'no-labels':
            fs.rmSync(path.join(l.cal, 'labels.csv'));
            break;
          case 'no-labels-link-canary':
            fs.rmSync(path.join(l.cal, 'labels.csv'));
            fs.symlinkSync(path.join(w, CANARY_FILE), path.join(l.cal, 'aaa-leak.jpg'));
            break;
          case 'no-labels-dir-named-jpg':
            fs.rmSync(path.join(l.cal, 'labels.csv'));
            fs.mkdirSync(path.join(l.cal, 'aaa.jpg'));
            break;
          case 'link-to-folder':
            // The folder the user named is a link: allowed, what it holds is checked as usual.
            fs.renameSync(l.cal, moved);
            fs.symlinkSync(moved, l.cal);
            return moved;
        }
      };
    }
  }
  return {
    id,
    kind,
    what,
    prepare: (work): Prepared => {
      const l = layout(work);
      const real = mutate(l, work);
      const outDir = path.join(work, 'out');
      const inputs = [l.model, ...(fs.existsSync(l.cal) && fs.statSync(l.cal, { throwIfNoEntry: false })?.isDirectory() ? [l.cal] : []), ...(real ? [real] : [])];
      return {
        argv: ['convert-with-turbo', l.model, outDir, '--target-flops', '1.2', '--calibrate', l.cal, '--max-evals', '2', '--backend', 'wasm'],
        inputs,
        outDir,
        success: 'converted',
        successProblems: () => tunedProblems(outDir),
      };
    },
  };
}

export const calibrationSurface: Surface = {
  name: 'calibration',
  kinds: KINDS,
  missing: () => (fs.existsSync(MODEL) ? null : `${MODEL} is missing`),
  cases: (seed, count) => seededCases(seed, count, KINDS, calibrationCase),
};
