// The onnxruntime-node peer: the same unmerged networks exported to ONNX by
// scripts/bench/export_onnx.py (cached in .cache/onnx/, keyed by a hash of the script, the
// checkpoint and the Python package versions) and run in onnxruntime sessions.

import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../../src/paths';
import { IMAGE, Inputs } from './inputs';
import { Runner } from './runners';

const ROOT = packageRoot();
const EXPORT_SCRIPT = path.join(ROOT, 'scripts', 'bench', 'export_onnx.py');

export interface PeerSetup {
  /** null: no peer, with `skipped` saying why. */
  python: string | null;
  versions: Record<string, string>;
  skipped: string | null;
}

export function checkPython(python: string): PeerSetup {
  const res = spawnSync(python, [EXPORT_SCRIPT, '--versions'], { encoding: 'utf8' });
  if (res.error) {
    const why = (res.error as NodeJS.ErrnoException).code === 'ENOENT' ? `${python} not found` : res.error.message;
    return { python: null, versions: {}, skipped: `onnxruntime peer skipped: ${why} (the ONNX export needs Python 3 with onnx, safetensors, numpy)` };
  }
  if (res.status !== 0) {
    const line = lastLine(res.stderr) || `exit code ${res.status}`;
    return { python: null, versions: {}, skipped: `onnxruntime peer skipped: ${line}` };
  }
  try {
    return { python, versions: JSON.parse(res.stdout.trim()) as Record<string, string>, skipped: null };
  } catch {
    return { python: null, versions: {}, skipped: `onnxruntime peer skipped: ${EXPORT_SCRIPT} --versions printed no JSON` };
  }
}

function lastLine(s: string | null | undefined): string {
  return (s ?? '').trim().split('\n').pop()?.trim() ?? '';
}

/** Exports (or finds in the cache) the ONNX graph of a checkpoint dir; null after a one-line notice if it fails. */
export function exportOnnx(peer: PeerSetup, checkpointDir: string, cacheDir: string, name: string, log: (s: string) => void): string | null {
  const hash = crypto.createHash('sha256');
  hash.update(fs.readFileSync(EXPORT_SCRIPT));
  for (const f of ['config.json', 'model.safetensors']) hash.update(fs.readFileSync(path.join(checkpointDir, f)));
  hash.update(JSON.stringify(peer.versions));
  const out = path.join(cacheDir, `${name}-${hash.digest('hex').slice(0, 16)}.onnx`);
  if (fs.existsSync(out)) {
    log(`ONNX ${name}: cached ${path.relative(ROOT, out)}`);
    return out;
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const res = spawnSync(peer.python!, [EXPORT_SCRIPT, '--checkpoint', checkpointDir, '--out', out], { encoding: 'utf8' });
  if (res.status !== 0) {
    log(`onnxruntime peer skipped for ${name}: export failed (${lastLine(res.stderr) || res.error?.message || `exit ${res.status}`})`);
    return null;
  }
  log(`ONNX ${name}: ${lastLine(res.stdout)}`);
  return out;
}

export type Ort = typeof import('onnxruntime-node');

export async function loadOrt(): Promise<{ ort: Ort | null; version: string | null; why?: string }> {
  try {
    const ort = await import('onnxruntime-node');
    return { ort, version: ort.env.versions?.node ?? null };
  } catch (e) {
    return { ort: null, version: null, why: `onnxruntime-node not installed (${(e as Error).message.split('\n')[0]})` };
  }
}

/** An onnxruntime session as a Runner; threads 0 = onnxruntime's default (one per physical core). */
export async function ortRunner(ort: Ort, label: string, file: string, threads: number, inputs: Inputs): Promise<Runner> {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Idle pool threads would otherwise spin after each run and take the core from the next tfjs run
    // (measured: ~12 ms of CPU in the 200 ms after a ViT-Tiny run).
    extra: { 'session.intra_op.allow_spinning': '0' },
  });
  const feeds = new Map<number, Record<string, import('onnxruntime-node').Tensor>>();
  return {
    label,
    run: async (batch) => {
      let feed = feeds.get(batch);
      if (!feed) {
        feed = { [session.inputNames[0]]: new ort.Tensor('float32', inputs.forBatch(batch), [batch, ...IMAGE]) };
        feeds.set(batch, feed);
      }
      const out = await session.run(feed);
      return Float32Array.from(out[session.outputNames[0]].data as Float32Array);
    },
    dispose: () => session.release(),
  };
}
