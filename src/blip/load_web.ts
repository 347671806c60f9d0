// Loading a BLIP model from a URL (browser, or any fetch): config.json, tokenizer.json and the
// task's graphs under `baseUrl`. Images go in preprocessed (Float32Array CHW): the browser entry
// has no decoder of its own, and preprocess() (src/image/preprocess_web.ts) targets ViT's crop.
import { TurboInputError } from '../errors';
import { loadTurboModel } from '../runtime/load_web';
import { BlipModel, BlipTask, loadTaskGraphs, parseBlipConfig } from './model';
import { BlipTokenizer } from './tokenizer';

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new TurboInputError(url, `HTTP ${res.status}`);
  try {
    return await res.json();
  } catch (e) {
    throw new TurboInputError(url, `is not valid JSON (${(e as Error).message})`);
  }
}

export async function loadBlipFromUrl(baseUrl: string, task: BlipTask): Promise<BlipModel> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const config = parseBlipConfig(await fetchJson(`${base}config.json`), `${base}config.json`);
  const tokenizer = BlipTokenizer.fromJson(await fetchJson(`${base}tokenizer.json`), `${base}tokenizer.json`, config.maxTextLength, config.padId);
  const graphs = await loadTaskGraphs(task, (part) => loadTurboModel(`${base}${task}/${part}/model.json`));
  return { dir: baseUrl, task, config, tokenizer, graphs, dispose: () => Object.values(graphs).forEach((g) => g.dispose()) };
}
