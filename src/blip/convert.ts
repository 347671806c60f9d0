// Turbo for a whole BLIP model directory: token merging in every vision encoder (the rewriting pass,
// with the official BLIP defaults: r = 30, alpha = 5, r_threshold 100 for retrieval and 40 for
// captioning and VQA), and the text-side image-token dropping in every graph whose cross-attention
// reads the image tokens. Everything is read and rewritten before anything is written; the output
// directory appears complete or not at all.
import { Dirent, promises as fsp } from 'fs';
import * as path from 'path';
import { checkInputDir, rewriteGraph } from '../convert';
import { GraphError, OptionsError, asTurboError } from '../errors';
import { describeTurbo, isTurboModel } from '../rewrite/strip';
import { Graph } from '../graph/ir';
import { readGraphModel, writeGraphModel } from '../graph/model_io';
import { GRAPH_MODEL_DIR, ModelDirKind, checkOutputNotInput, writeDirAtomically, writeFileIn } from '../output_dir';
import { TextDropOptions, applyTextDrop } from '../rewrite/text_drop';
import { TurboOptions, definedFields } from '../turbo/options';
import { graphFacts } from './graph_facts';
import { readBlipTopFiles } from './load';
import { BLIP_TASKS, BlipTask, IMAGE_CROSS_ATTENTION_GRAPHS, checkConfigAgainstGraph, checkPartInterface } from './model';

export const BLIP_VISION_DEFAULTS: Record<BlipTask, Partial<TurboOptions>> = {
  retrieval: { r: 30, alpha: 5, rThreshold: 100 },
  caption: { r: 30, alpha: 5, rThreshold: 40 },
  vqa: { r: 30, alpha: 5, rThreshold: 40 },
};

export interface BlipConvertOptions {
  /** Vision merging settings over the per-task defaults; false leaves the vision encoders as they are. */
  vision?: Partial<TurboOptions> | false;
  /** Text-side dropping settings (defaults drop_rate 0.07, drop_max 0.8); false leaves the text graphs. */
  text?: Partial<TextDropOptions> | false;
  /** Only these tasks (default: every task directory present). */
  tasks?: BlipTask[];
  force?: boolean;
  onGraph?: (name: string, done: number, total: number) => void;
}

export interface BlipConvertResult {
  graphs: { name: string; merged: boolean; dropLayers: number }[];
}

const TOP_FILES = ['config.json', 'tokenizer.json'];

/**
 * What `--force` may replace: a BLIP model directory, checked down to its graphs (config.json,
 * tokenizer.json, task folders holding only their part folders, each a tfjs graph model), so a
 * folder of someone's files named "caption" is never taken for one.
 */
export const BLIP_MODEL_DIR: ModelDirKind = {
  what: 'a BLIP model (config.json, tokenizer.json, task folders of graph models)',
  problem: async (dir, entries: Dirent[]) => {
    if (!entries.some((e) => e.name === 'config.json' && e.isFile())) return 'holds no config.json';
    for (const e of entries) {
      if (TOP_FILES.includes(e.name) && e.isFile()) continue;
      if (!(isTask(e.name) && e.isDirectory())) return `holds '${e.name}', which is not part of a BLIP model directory`;
      const parts = await fsp.readdir(path.join(dir, e.name), { withFileTypes: true });
      for (const p of parts) {
        if (!((BLIP_TASKS[e.name] as readonly string[]).includes(p.name) && p.isDirectory())) return `holds '${e.name}/${p.name}', which is not part of a BLIP model directory`;
        const partDir = path.join(dir, e.name, p.name);
        const problem = await GRAPH_MODEL_DIR.problem(partDir, await fsp.readdir(partDir, { withFileTypes: true }));
        if (problem) return `'${e.name}/${p.name}' ${problem}`;
      }
    }
    return undefined;
  },
};

const isTask = (name: string): name is BlipTask => Object.prototype.hasOwnProperty.call(BLIP_TASKS, name);

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(() => true, () => false);
}

export async function convertBlipWithTurbo(inDir: string, outDir: string, options: BlipConvertOptions = {}): Promise<BlipConvertResult> {
  await checkInputDir(inDir);
  await checkOutputNotInput(inDir, outDir);
  // Parsed and validated before anything is copied: the output gets the checked bytes, and a link
  // out of IN_DIR (tokenizer.json -> /etc/passwd) is refused, never copied.
  const top = await readBlipTopFiles(inDir);
  const tasks = options.tasks ?? (Object.keys(BLIP_TASKS) as BlipTask[]);
  const parts: { task: BlipTask; part: string }[] = [];
  for (const task of tasks) {
    if (!isTask(task)) throw new OptionsError('tasks', `unknown BLIP task '${task}' (${Object.keys(BLIP_TASKS).join(', ')})`);
    const present: string[] = [];
    for (const part of BLIP_TASKS[task]) if (await exists(path.join(inDir, task, part, 'model.json'))) present.push(part);
    // A task is all its graphs or none: a partial one would be written, then fail to load.
    const absent = BLIP_TASKS[task].filter((p) => !present.includes(p));
    if (present.length && absent.length) {
      throw new GraphError(path.join(inDir, task, absent[0], 'model.json'), `not found; the ${task} task needs ${BLIP_TASKS[task].join(', ')}`);
    }
    for (const part of present) parts.push({ task, part });
  }
  if (parts.length === 0) throw new GraphError(inDir, `holds no BLIP graphs (${tasks.map((t) => `${t}/{${BLIP_TASKS[t].join(',')}}`).join(', ')})`);

  const rewritten: { name: string; graph: Graph; merged: boolean; dropLayers: number }[] = [];
  for (const [i, { task, part }] of parts.entries()) {
    const name = `${task}/${part}`;
    const dir = path.join(inDir, task, part);
    const jsonPath = path.join(dir, 'model.json');
    try {
      const graph = await readGraphModel(dir);
      checkPartInterface(task, part, graph.modelJson.signature, jsonPath);
      checkConfigAgainstGraph(top.config, graphFacts(graph), name, path.join(inDir, 'config.json'));
      let merged = false;
      let dropLayers = 0;
      if (part === 'vision' && options.vision !== false) {
        if (isTurboModel(graph)) throw new GraphError(jsonPath, `already converted with Turbo (${describeTurbo(graph)}); convert the original BLIP directory`);
        rewriteGraph(graph, { ...BLIP_VISION_DEFAULTS[task], ...definedFields(options.vision ?? {}) }, jsonPath);
        merged = true;
      }
      if (IMAGE_CROSS_ATTENTION_GRAPHS.includes(name) && options.text !== false) {
        dropLayers = applyTextDrop(graph, options.text ?? {}, jsonPath).crossAttentionLayers;
      }
      rewritten.push({ name, graph, merged, dropLayers });
    } catch (e) {
      throw asTurboError(e, jsonPath);
    }
    options.onGraph?.(name, i + 1, parts.length);
  }

  await writeDirAtomically(
    outDir,
    !!options.force,
    async (tmp) => {
      for (const [f, data] of Object.entries(top.bytes)) await writeFileIn(outDir, path.join(tmp, f), data);
      for (const { name, graph } of rewritten) {
        await fsp.mkdir(path.join(tmp, path.dirname(name)), { recursive: true });
        await writeGraphModel(graph, path.join(tmp, name));
      }
    },
    [BLIP_MODEL_DIR],
  );
  return { graphs: rewritten.map(({ name, merged, dropLayers }) => ({ name, merged, dropLayers })) };
}
