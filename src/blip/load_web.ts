// Loading a BLIP model from a URL (browser, or any fetch): config.json, tokenizer.json and the
// task's graphs under `baseUrl`. Images go in preprocessed (Float32Array CHW): the browser entry
// has no decoder of its own, and preprocess() (src/image/preprocess_web.ts) targets ViT's crop.
import { GraphModel } from '@tensorflow/tfjs-converter';
import { TurboInputError } from '../errors';
import { parseJsonText } from '../json_text';
import type { ModelJson } from '../graph/types';
import { loadTurboModel } from '../runtime/load_web';
import { BlipConfig, BlipModel, BlipTask, checkConfigAgainstGraph, checkPartInterface, loadTaskGraphs, parseBlipConfig, signatureFacts } from './model';
import { BlipTokenizer } from './tokenizer';

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new TurboInputError(url, `HTTP ${res.status}`);
  return parseJsonText(await res.text(), url);
}

/** A task's graph, refused (and disposed) when config.json contradicts what its signature fixes. */
async function loadCheckedGraph(config: BlipConfig, base: string, task: BlipTask, part: string): Promise<GraphModel> {
  const model = await loadTurboModel(`${base}${task}/${part}/model.json`);
  try {
    checkPartInterface(task, part, model.modelSignature as ModelJson['signature'], `${base}${task}/${part}/model.json`);
    checkConfigAgainstGraph(config, signatureFacts(model.modelSignature as ModelJson['signature']), `${task}/${part}`, `${base}config.json`);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

export async function loadBlipFromUrl(baseUrl: string, task: BlipTask): Promise<BlipModel> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const config = parseBlipConfig(await fetchJson(`${base}config.json`), `${base}config.json`);
  const tokenizer = BlipTokenizer.fromJson(await fetchJson(`${base}tokenizer.json`), `${base}tokenizer.json`, config.maxTextLength, config.padId);
  const graphs = await loadTaskGraphs(task, (part) => loadCheckedGraph(config, base, task, part));
  return { dir: baseUrl, task, config, tokenizer, graphs, dispose: () => Object.values(graphs).forEach((g) => g.dispose()) };
}
