// The demo page: the original and the Turbo ViT-Tiny side by side in the browser, with r and alpha
// chosen on the page, the top-5 of both, the time per inference, and the merged-token map drawn
// from the merges' assignment outputs. Built and served by `npm run web` (scripts/web.ts).
//
// r and alpha: a Turbo model converted with a constant r has one TurboMerge per block whose r and
// alpha are attributes, and every token count after it is dynamic, so the page sets them on the
// loaded model.json (the layer index is the block index for any constant r > 0) instead of
// converting again.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { Preprocessing, loadPreprocessing, loadTurboModel, preprocess, warmup } from '../../src/browser';
import { mergeNodeNames, renderTokenMap, tokenGroups } from '../../src/vis/token_map';

setWasmPaths('/wasm/');

const ORIGINAL = 'models/vit-tiny/model.json';
const TURBO = 'models/vit-tiny-turbo/model.json';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (s: string) => ($('status').textContent = s);

let prep: Preprocessing;
let classes: string[] = [];
let turboArtifacts: tf.io.ModelArtifacts;
let image: ImageBitmap | HTMLImageElement;
const models = new Map<string, GraphModel>(); // by backend + settings

async function init(): Promise<void> {
  prep = await loadPreprocessing(TURBO);
  classes = (await (await fetch('models/vit-tiny-turbo/imagenet-classes.txt')).text()).split('\n');
  turboArtifacts = await tf.io.browserHTTPRequest(TURBO).load();
  const img = new Image();
  img.src = 'hare.jpg';
  await img.decode();
  image = img;
  const asked = new URLSearchParams(location.search).get('backend'); // ?backend=wasm: start there
  if (asked) ($('backend') as HTMLSelectElement).value = asked;
  $('r').oninput = () => ($('rValue').textContent = ($('r') as HTMLInputElement).value);
  $('file').onchange = async () => {
    const f = ($('file') as HTMLInputElement).files?.[0];
    if (f) image = await createImageBitmap(f);
    await run();
  };
  $('run').onclick = () => run();
  await run();
}

/** The Turbo model.json with every TurboMerge set to r and alpha. */
function withSettings(r: number, alpha: number): tf.io.ModelArtifacts {
  const topology = structuredClone(turboArtifacts.modelTopology) as { node: { op: string; attr: Record<string, { i?: string; f?: number }> }[] };
  for (const node of topology.node) {
    if (node.op !== 'TurboMerge') continue;
    node.attr.r = { i: String(r) };
    node.attr.alpha = { f: alpha };
  }
  return { ...turboArtifacts, modelTopology: topology };
}

async function model(backend: string, key: string, load: () => Promise<GraphModel>): Promise<{ model: GraphModel; warmupMs?: number }> {
  const id = `${backend}/${key}`;
  const cached = models.get(id);
  if (cached) return { model: cached };
  const m = await load();
  const warmupMs = await warmup(m);
  models.set(id, m);
  return { model: m, warmupMs };
}

async function timeRuns(m: GraphModel, x: tf.Tensor, outputs: string[], runs = 3): Promise<{ ms: number; values: tf.Tensor[] }> {
  const times: number[] = [];
  let values: tf.Tensor[] = [];
  for (let i = 0; i < runs; i++) {
    tf.dispose(values);
    const t0 = performance.now();
    const out = m.execute({ pixel_values: x }, outputs); // one output comes back as a tensor, not a list
    values = out instanceof tf.Tensor ? [out] : out;
    await values[0].data();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(runs / 2)], values };
}

async function top5(logits: tf.Tensor): Promise<{ label: string; p: number }[]> {
  const { values, indices } = tf.topk(tf.softmax(logits), 5);
  const [p, i] = await Promise.all([values.data(), indices.data()]);
  tf.dispose([values, indices]);
  return Array.from(i, (k, j) => ({ label: classes[k] ?? `class ${k}`, p: p[j] }));
}

async function run(): Promise<void> {
  const backend = ($('backend') as HTMLSelectElement).value;
  const r = Number(($('r') as HTMLInputElement).value);
  const alpha = Number(($('alpha') as HTMLInputElement).value);
  status(`running on ${backend}…`);
  if (!(await tf.setBackend(backend))) return void status(`backend ${backend} is not available in this browser`);
  await tf.ready();
  const x = await preprocess(image, prep);
  // The crop as the model sees it, back from the normalised input.
  const crop = prep.center_crop;
  const input = await x.data();
  const rgb = new Uint8Array(crop * crop * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < crop * crop; i++) rgb[i * 3 + c] = Math.round((input[c * crop * crop + i] * prep.std[c] + prep.mean[c]) * 255);
  const rgba = new Uint8ClampedArray(crop * crop * 4);
  for (let i = 0; i < crop * crop; i++) rgba.set([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], 255], i * 4);
  $<HTMLCanvasElement>('image').getContext('2d')!.putImageData(new ImageData(rgba, crop, crop), 0, 0);

  status(`${backend}: loading and warming up (compiles the shaders once)…`);
  const original = await model(backend, 'original', () => loadTurboModel(ORIGINAL));
  const turbo = await model(backend, `turbo r=${r} alpha=${alpha}`, () => loadTurboModel(tf.io.fromMemory(withSettings(r, alpha))));
  const merges = mergeNodeNames(turboArtifacts as { userDefinedMetadata?: { turbo?: unknown } });
  const a = await timeRuns(original.model, x, ['logits']);
  const b = await timeRuns(turbo.model, x, ['logits', ...merges.map((m) => `${m}:2`)]);
  const assignments = await Promise.all(b.values.slice(1).map((t) => t.data()));
  const groups = tokenGroups(assignments, assignments[0].length);
  const grid = Math.round(Math.sqrt(groups.length));
  $<HTMLCanvasElement>('map').getContext('2d')!.putImageData(new ImageData(renderTokenMap(rgb, crop, groups, grid), crop, crop), 0, 0);
  $('mapCaption').textContent = `${groups.length} patches → ${new Set(groups).size} tokens after ${merges.length} blocks (r = ${r}, alpha = ${alpha})`;

  const [ta, tb] = await Promise.all([top5(a.values[0]), top5(b.values[0])]);
  const rows = ta.map((o, i) => `<tr><td>${i + 1}</td><td>${o.label}</td><td class="num">${(o.p * 100).toFixed(1)}%</td><td>${tb[i].label}</td><td class="num">${(tb[i].p * 100).toFixed(1)}%</td></tr>`);
  $('results').innerHTML =
    `<tr><th></th><th>original</th><th></th><th>Turbo</th><th></th></tr>${rows.join('')}` +
    `<tr><td></td><td>${a.ms.toFixed(1)} ms / image</td><td></td><td>${b.ms.toFixed(1)} ms / image</td><td></td></tr>` +
    `<tr><td></td><td colspan="4">speed-up ${(a.ms / b.ms).toFixed(2)}× on ${backend} (median of 3 warm runs)</td></tr>`;
  const warm = [original.warmupMs, turbo.warmupMs].map((m) => (m === undefined ? 'cached' : `${m.toFixed(0)} ms`));
  status(`done on ${backend}; warm-up (first run) original ${warm[0]}, Turbo ${warm[1]}`);
  tf.dispose([x, ...a.values, ...b.values]);
  document.body.dataset.done = String(Number(document.body.dataset.done ?? 0) + 1);
}

init().catch((e) => status(`error: ${(e as Error).message}`));
