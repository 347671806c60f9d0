// Where the session route keeps the TensorFlow graphs it makes from model.json files: tfjs-node
// loads a graph into a session only from a SavedModel directory, and converting ViT-B takes seconds,
// so each conversion is kept, addressed by content:
//
//   <cache>/graphs/<sha256 of model.json, the weights and the writer's own code>/
//       saved_model.pb, variables/   what src/savedmodel/write.ts's encoder writes
//       entry.json                   saved_model.pb's size and sha256, its node names, its inputs
//
// <cache> is TFJS_TURBO_CACHE, else $XDG_CACHE_HOME/tfjs-turbo or ~/.cache/tfjs-turbo (where
// setup:native keeps TensorFlow). An entry is built in a temporary sibling and renamed into place,
// so a reader never sees half of one; one whose entry.json or saved_model.pb does not check out
// (interrupted copy, disk error, hand edit) is rebuilt, never loaded.

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Graph } from '../../graph/ir';
import { SignatureDefObject } from '../../savedmodel/signature';
import { encodeSavedModel } from '../../savedmodel/write';

/** Bump when an entry's layout changes; changes to the writer's code change the key by themselves. */
const ENTRY_FORMAT = 1;
const ENTRY_FILE = 'entry.json';
const GRAPH_FILE = 'saved_model.pb';

export interface SessionGraphEntry {
  format: number;
  key: string;
  pb: { bytes: number; sha256: string };
  signature: SignatureDefObject;
  nodes: string[];
  placeholders: Record<string, string>;
  turboOps: boolean;
}

export interface SessionGraph {
  /** The SavedModel directory to load. */
  dir: string;
  entry: SessionGraphEntry;
  /** 'hit': a valid entry was there; 'written': converted now; 'temporary': the cache was not writable, remove `dir` after loading. */
  how: 'hit' | 'written' | 'temporary';
}

export function defaultGraphCacheDir(): string {
  const root = process.env.TFJS_TURBO_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'tfjs-turbo');
  return path.join(root, 'graphs');
}

/** The cache key of `graph` as read from disk: its model.json content, every weight's bytes, and the writer. */
export function graphKey(graph: Graph): string {
  const h = crypto.createHash('sha256');
  h.update(`tfjs-turbo session graph ${ENTRY_FORMAT}\n${writerFingerprint()}\n`);
  h.update(JSON.stringify(graph.modelJson));
  for (const w of graph.weights.values()) {
    h.update(`\n${w.spec.name} ${w.bytes.byteLength}\n`);
    h.update(w.bytes);
  }
  return h.digest('hex');
}

let fingerprint: string | undefined;

/**
 * A hash of the SavedModel writer's own files (src/savedmodel, compiled or not): a fix to the
 * writer or its fuse pass then gives new entries without anyone remembering to bump a version.
 */
function writerFingerprint(): string {
  if (fingerprint) return fingerprint;
  const dir = path.dirname(require.resolve('../../savedmodel/write'));
  const h = crypto.createHash('sha256');
  for (const f of fs.readdirSync(dir).filter((n) => /\.(js|ts)$/.test(n) && !n.endsWith('.d.ts')).sort()) {
    h.update(`${f}\n`);
    h.update(fs.readFileSync(path.join(dir, f)));
  }
  return (fingerprint = h.digest('hex'));
}

/** The SavedModel of `graph`, from the cache at `cacheDir` when a valid entry exists, else converted (and cached if possible). */
export function sessionGraph(graph: Graph, source: string, cacheDir: string | false = defaultGraphCacheDir()): SessionGraph {
  const key = graphKey(graph);
  if (cacheDir !== false) {
    const dir = path.join(cacheDir, key);
    const entry = readEntry(dir, key);
    if (entry) return { dir, entry, how: 'hit' };
  }
  const { data, info } = encodeSavedModel(graph, source);
  const entry: SessionGraphEntry = {
    format: ENTRY_FORMAT,
    key,
    pb: { bytes: data.length, sha256: sha256(data) },
    signature: info.signature,
    nodes: info.nodes,
    placeholders: info.placeholders,
    turboOps: info.turboOps,
  };
  if (cacheDir !== false) {
    try {
      return { dir: publish(cacheDir, key, data, entry), entry, how: 'written' };
    } catch {
      // A read-only or full cache costs a conversion per load, not the session route.
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-turbo-graph-'));
  fill(tmp, data, entry);
  return { dir: tmp, entry, how: 'temporary' };
}

/** The entry in `dir` if it is complete and its saved_model.pb is the one it describes; else null. */
export function readEntry(dir: string, key: string): SessionGraphEntry | null {
  try {
    const entry = JSON.parse(fs.readFileSync(path.join(dir, ENTRY_FILE), 'utf8')) as SessionGraphEntry;
    if (entry?.format !== ENTRY_FORMAT || entry.key !== key || !Array.isArray(entry.nodes) || !entry.signature) return null;
    const pb = fs.readFileSync(path.join(dir, GRAPH_FILE));
    if (pb.length !== entry.pb?.bytes || sha256(pb) !== entry.pb.sha256) return null;
    if (!fs.statSync(path.join(dir, 'variables')).isDirectory()) return null;
    return entry;
  } catch {
    return null;
  }
}

function publish(cacheDir: string, key: string, data: Uint8Array, entry: SessionGraphEntry): string {
  fs.mkdirSync(cacheDir, { recursive: true });
  const target = path.join(cacheDir, key);
  const tmp = fs.mkdtempSync(path.join(cacheDir, `.partial-${key.slice(0, 16)}-`));
  try {
    fill(tmp, data, entry);
    try {
      fs.renameSync(tmp, target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      // Another process may have published the same key meanwhile: its entry is as good as ours.
      if (readEntry(target, key)) return target;
      // Else what is there is a broken entry: moved aside first, so no reader ever sees it half removed.
      const stale = `${tmp}.stale`;
      fs.renameSync(target, stale);
      fs.rmSync(stale, { recursive: true, force: true });
      fs.renameSync(tmp, target);
    }
    return target;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** entry.json last and every file synced: a directory with a valid entry.json holds everything it names. */
function fill(dir: string, data: Uint8Array, entry: SessionGraphEntry): void {
  writeSynced(path.join(dir, GRAPH_FILE), data);
  fs.mkdirSync(path.join(dir, 'variables'), { recursive: true });
  writeSynced(path.join(dir, ENTRY_FILE), JSON.stringify(entry));
}

function writeSynced(file: string, data: Uint8Array | string): void {
  const fd = fs.openSync(file, 'wx');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function sha256(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}
