// scripts/eval-grid.ts (its modules in scripts/bench/grid/): the labels.csv reader, every bad input
// (one line, non-zero exit, nothing written), and a 2-image smoke run of the real ViT-Tiny checked
// against the official Turbo top-1s.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildProgram } from '../../scripts/eval-grid';
import { plotSpec } from '../../scripts/bench/grid/plot';
import { GridRow } from '../../scripts/bench/grid/results';
import { parseCsv, readLabels } from '../../src/image/labels';
import { runProgram } from '../../src/cli/run';
import { FIXTURES } from '../helpers/parity';
import { nativeInstalled } from '../helpers/backends';

const ROOT = path.join(__dirname, '..', '..');
const MODEL = path.join(ROOT, 'models', 'vit-tiny-patch16-224');
const parity = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'parity', 'vit-tiny-turbo.json'), 'utf8'));
const images: string[] = parity.inputs.images;
const labels: number[] = parity.inputs.labels;

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-grid-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An image folder with the fixture photos in `order` (indices into the parity inputs) and their labels. */
function imageFolder(order: number[] = images.map((_, i) => i), csv?: string): string {
  const dir = path.join(tmp, 'images');
  fs.mkdirSync(dir);
  for (const i of order) fs.copyFileSync(path.join(FIXTURES, 'images', images[i]), path.join(dir, images[i]));
  fs.writeFileSync(path.join(dir, 'labels.csv'), csv ?? ['file,label,author', ...order.map((i) => `${images[i]},${labels[i]},"Doe, Jane"`)].join('\n') + '\n');
  return dir;
}

async function cli(...args: string[]): Promise<{ code: number; err: string; out: string }> {
  let err = '';
  let out = '';
  const code = await runProgram(buildProgram({ err: (s) => (err += s), out: (s) => (out += s) }), args, { err: (s) => (err += s) });
  return { code, err, out };
}

/** Runs a grid that must fail before evaluating anything. */
async function failing(dir: string, ...extra: string[]) {
  const out = path.join(tmp, 'out', 'grid.json');
  const r = await cli(dir, '--model', MODEL, '--r', '0,8', '--alpha', '0', '--out', out, '--no-plot', '--no-docs', '--no-progress', ...extra);
  expect(r.code).not.toBe(0);
  expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  expect(r.err).toMatch(/^error: /);
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(fs.existsSync(out)).toBe(false);
  return r;
}

describe('parseCsv / readLabels', () => {
  test('quoted fields, "" escapes, CRLF, a BOM and blank lines', () => {
    const rows = parseCsv('\ufefffile,label,author\r\na.jpg,1,"Doe, ""JD"" Jane"\r\n\r\nb.jpg,2,"two\nlines"\nc.jpg,3,x');
    expect(rows.map((r) => r.fields)).toEqual([
      ['file', 'label', 'author'],
      ['a.jpg', '1', 'Doe, "JD" Jane'],
      ['b.jpg', '2', 'two\nlines'],
      ['c.jpg', '3', 'x'],
    ]);
    expect(rows.map((r) => r.line)).toEqual([1, 2, 4, 6]);
    expect(() => parseCsv('file,label\n"a.jpg,1\n')).toThrow('line 2: unterminated quoted field');
  });

  test('reads file and label by header name, in file order, with line numbers', async () => {
    const dir = imageFolder([3, 5], 'author,label,file\n"Doe, Jane",717,a.jpg\nx,609,b.jpg\n');
    expect(await readLabels(dir)).toEqual([
      { file: 'a.jpg', label: 717, line: 2 },
      { file: 'b.jpg', label: 609, line: 3 },
    ]);
  });

  test('the shared nips17-dev labels parse (when present)', async () => {
    const dir = path.join(ROOT, '..', 'shared', 'data', 'nips17-dev');
    if (!fs.existsSync(dir)) return;
    const rows = await readLabels(dir);
    expect(rows).toHaveLength(500);
    expect(rows.every((r) => r.label >= 0 && r.label < 1000)).toBe(true);
  });
});

describe('bad input: one line, non-zero exit, nothing written', () => {
  test('image folder missing', async () => {
    const missing = path.join(tmp, 'nope');
    const r = await failing(missing);
    expect(r.err).toContain(`${missing}: image folder not found`);
  });

  test('labels.csv missing', async () => {
    const dir = imageFolder();
    fs.rmSync(path.join(dir, 'labels.csv'));
    const r = await failing(dir);
    expect(r.err).toContain(`${path.join(dir, 'labels.csv')}: not found`);
  });

  test.each([
    ['empty', '', 'empty'],
    ['no label column', 'file,class\na.jpg,1\n', "line 1: the header must name a 'file' and a 'label' column"],
    ['only a header', 'file,label\n', 'lists no images'],
    ['a label that is not a class index', 'file,label\n0411ca972e637297.jpg,1\n1394faa319bd353c.jpg,dog\n', 'line 3: the label is not a class index'],
    ['a negative label', 'file,label\n0411ca972e637297.jpg,-1\n', 'line 2: the label is not a class index'],
    ['a short row', 'file,label\n0411ca972e637297.jpg\n', 'line 2: 1 column(s), expected at least 2'],
    ['an empty file name', 'file,label\n,3\n', 'line 2: empty file name'],
    ['a file listed twice', 'file,label\na.jpg,1\nb.jpg,2\na.jpg,1\n', 'line 4: the file is listed twice (first on line 2)'],
    ['an unterminated quote', 'file,label,author\na.jpg,1,"Doe\n', 'line 2: unterminated quoted field'],
  ])('labels.csv malformed: %s', async (_, csv, message) => {
    const dir = imageFolder([], csv);
    const r = await failing(dir);
    expect(r.err).toContain(`${path.join(dir, 'labels.csv')}: ${message}`);
  });

  test('a label out of range for the model', async () => {
    const dir = imageFolder([0], `file,label\n${images[0]},1000\n`);
    const r = await failing(dir);
    expect(r.err).toContain(`line 2: label 1000 of '${images[0]}' is out of range for a model with 1000 classes`);
  });

  test('an image that cannot be decoded is named', async () => {
    const dir = imageFolder([0, 1]);
    fs.writeFileSync(path.join(dir, images[1]), Buffer.from('this is not a JPEG'));
    const r = await failing(dir);
    expect(r.err).toContain(`${path.join(dir, images[1])}: cannot decode image`);
  });

  test('an image listed in labels.csv but absent is named', async () => {
    const dir = imageFolder([0, 1]);
    fs.rmSync(path.join(dir, images[0]));
    const r = await failing(dir);
    expect(r.err).toContain(`${path.join(dir, images[0])}: image not found`);
  });

  test('model directory missing', async () => {
    const dir = imageFolder([0]);
    const missing = path.join(tmp, 'no-model');
    const r = await failing(dir, '--model', missing);
    expect(r.err).toContain(`${missing}: model directory not found`);
  });

  test('model directory without model.json', async () => {
    const dir = imageFolder([0]);
    const empty = path.join(tmp, 'empty-model');
    fs.mkdirSync(empty);
    const r = await failing(dir, '--model', empty);
    expect(r.err).toContain(`${path.join(empty, 'model.json')}: not found`);
  });

  test('bad option values are refused by commander (exit 2)', async () => {
    const dir = imageFolder([0]);
    for (const args of [
      ['--r', '8,x'],
      ['--r', '2.5'],
      ['--alpha', 'big'],
      ['--limit', '0'],
      ['--backend', 'gpu'],
    ]) {
      const r = await cli(dir, '--no-docs', '--no-plot', ...args);
      expect(r.code).toBe(2);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});

test('2-image smoke run: JSON, markdown section, the official Turbo top-1s', async () => {
  // Parity images 3 and 5 are the two whose top-1 Turbo r=8 alpha=5 changes (717 → 864, 609 → 656).
  const dir = imageFolder([3, 5, 0, 1]);
  const out = path.join(tmp, 'results', 'grid.json');
  const docs = path.join(tmp, 'BENCH.md');
  fs.writeFileSync(docs, '# Benchmarks\n\nhand-written text stays\n');
  const r = await cli(dir, '--model', MODEL, '--r', '0,8', '--alpha', '0,5', '--limit', '2', '--warmup', '0', '--pairs', '1', '--out', out, '--no-plot', '--docs', docs, '--no-progress');
  expect(r.err).not.toContain('error');
  expect(r.code).toBe(0);

  const result = JSON.parse(fs.readFileSync(out, 'utf8'));
  expect(result.images.count).toBe(2);
  expect(result.images.labels).toEqual([717, 609]);
  expect(result.backend).toBe(nativeInstalled() ? 'tensorflow' : 'wasm'); // the default backend
  expect(result.batch).toBe(8);
  expect(result.model.preprocessingSource).toBe('preprocessing.json');
  expect(result.unmerged.fullPasses.map((m: { when: string }) => m.when)).toEqual(['before the grid', 'after the grid']);
  expect(result.unmerged.predictionsChanged).toBe(0);
  const rows: GridRow[] = result.rows;
  expect(rows.map((x) => [x.r, x.alpha, x.tokensLast])).toEqual([
    [0, null, 197],
    [8, 0, 101],
    [8, 5, 101],
  ]);
  const official = (cfg: object) => parity.results.find((p: { config: object }) => JSON.stringify(p.config) === JSON.stringify(cfg)).top1;
  const expected = [official({ r: 0, alpha: 0 }), official({ r: 8, alpha: 0 }), official({ r: 8, alpha: 5 })].map((t: number[]) => [t[3], t[5]]);
  expect(rows.map((x) => x.predictions)).toEqual(expected); // [[717, 609], [717, 609], [864, 656]]
  expect(rows.map((x) => x.top1)).toEqual([100, 100, 0]);
  expect(rows.map((x) => x.agreement)).toEqual([100, 100, 0]);
  for (const x of rows) {
    expect(x.top5).toBeGreaterThanOrEqual(x.top1);
    expect(x.imagesPerSec).toBeGreaterThan(0);
    expect(Number.isFinite(x.speedup)).toBe(true);
  }
  expect(rows[1].paired!.turboSeconds).toHaveLength(1);
  expect(rows[1].flopRatio).toBeGreaterThan(1.3);

  const md = fs.readFileSync(docs, 'utf8');
  expect(md).toContain('hand-written text stays');
  expect(md).toMatch(/<!-- eval-grid:start -->[\s\S]*\| 8 \| 5 \| 101 \|[\s\S]*<!-- eval-grid:end -->/);
  expect(r.out).toContain('| r | alpha | tokens after last block |');

  // --from re-renders the section from the JSON alone.
  fs.writeFileSync(docs, '# Benchmarks\n');
  const again = await cli('--from', out, '--no-plot', '--docs', docs);
  expect(again.code).toBe(0);
  expect(fs.readFileSync(docs, 'utf8')).toBe(`# Benchmarks\n\n<!-- eval-grid:start -->\n${again.out.trimEnd()}\n<!-- eval-grid:end -->\n`);
  expect(again.out).toBe(r.out);
});

function row(r: number, alpha: number | null, top1: number, speedup: number): GridRow {
  return {
    r,
    alpha,
    tokensAfterBlock: [],
    tokensLast: 197 - 12 * r,
    flopRatio: 1,
    top1,
    top5: 100,
    top1Delta: 0,
    agreement: 100,
    imagesPerSec: 10 * speedup,
    baselineImagesPerSec: 10,
    speedup,
    passImagesPerSec: 10 * speedup,
    predictions: [],
  };
}
const plotRows = [row(0, null, 88, 1), row(8, 0, 86, 1.4), row(8, 1, 88, 1.4), row(16, 0, 81, 2), row(16, 1, 83, 2)];

test('plot spec: one curve per alpha starting at the unmerged point, ToMe dashed', () => {
  const spec = plotSpec(plotRows, 't') as unknown as {
    layer: { data: { values: { curve: string; r: number }[] }; encoding?: { strokeDash?: { scale: { range: number[][] } } } }[];
  };
  const lines = spec.layer[0].data.values;
  expect(lines.map((v) => `${v.curve}@${v.r}`)).toEqual(['ToMe (alpha 0)@0', 'ToMe (alpha 0)@8', 'ToMe (alpha 0)@16', 'Turbo alpha 1@0', 'Turbo alpha 1@8', 'Turbo alpha 1@16']);
  expect(spec.layer[0].encoding!.strokeDash!.scale.range).toEqual([[5, 3], [1, 0]]);
  expect(spec.layer[2].data.values).toHaveLength(1); // the unmerged point
});

// vega and vega-lite are ES modules, which jest (CommonJS, no --experimental-vm-modules) cannot
// import; so the spec is compiled and rendered by a plain node child, as the script does.
test('the plot spec compiles with vega-lite and renders to SVG with vega', () => {
  const render =
    "import * as vl from 'vega-lite'; import * as vega from 'vega'; let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', async () => {" +
    " const view = new vega.View(vega.parse(vl.compile(JSON.parse(s)).spec), { renderer: 'none' }); process.stdout.write(await view.toSVG()); });";
  const svg = execFileSync(process.execPath, ['--input-type=module', '-e', render], { cwd: ROOT, input: JSON.stringify(plotSpec(plotRows, 'a title')) }).toString();
  expect(svg).toMatch(/^<svg/);
  for (const text of ['a title', 'ToMe (alpha 0)', 'Turbo alpha 1', 'unmerged 88.0 %', 'r = 16', 'top-1 (%)']) expect(svg).toContain(text);
});
