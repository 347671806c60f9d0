// bench's onnxruntime peer rows: the unmerged network in onnxruntime-node (1 intra-op thread, and
// onnxruntime's default) interleaved with the tfjs-wasm original and Turbo graphs.

import * as fs from 'fs';
import * as path from 'path';
import { TurboInputError } from '../../src/errors';
import { Check, PeerRow, rounded } from './results';
import { Inputs, ParityResult, PARITY_TOLERANCE, maxAbs, maxAbsDiff, officialLogits } from './inputs';
import { LoadedModel, PeerPaths, tinyCheckpoint } from './models';
import { Ort, PeerSetup, checkPython, loadOrt, ortRunner } from './onnx';
import { Runner, TfjsRunner, timedRunner } from './runners';
import { interleave, median } from '../../src/runtime/timing';

/** onnxruntime-node and the Python that exports the ONNX graphs, unless --no-peer; `skipped` says why not. */
export async function setupPeer(opts: PeerPaths & { peer: boolean; python: string }, modelKeys: string[]): Promise<{ peer: PeerSetup; ort: Ort | null; ortVersion: string | null }> {
  if (!opts.peer) return { peer: { python: null, versions: {}, skipped: 'onnxruntime peer skipped: --no-peer' }, ort: null, ortVersion: null };
  if (modelKeys.includes('vit-tiny') && !fs.existsSync(path.join(tinyCheckpoint(opts.shared), 'model.safetensors'))) {
    throw new TurboInputError(tinyCheckpoint(opts.shared), 'ViT-Tiny checkpoint not found (model.safetensors + config.json, for the ONNX peer); pass --shared DIR or --no-peer');
  }
  const o = await loadOrt();
  const peer = o.ort ? checkPython(opts.python) : { python: null, versions: {}, skipped: `onnxruntime peer skipped: ${o.why}` };
  return { peer, ort: o.ort, ortVersion: o.version };
}

/**
 * The two onnxruntime sessions of a model; for ViT-Tiny only if they reproduce the official r = 0
 * logits on the 8 parity images (proof that the ONNX graph is the same network), else null.
 */
export async function openPeer(ort: Ort, model: LoadedModel, inputs: Inputs, parity: ParityResult[], addCheck: (c: Check) => void, log: (s: string) => void): Promise<Runner[] | null> {
  const key = model.spec.key;
  const runners = [
    await ortRunner(ort, `${key} onnxruntime 1 thread`, model.onnx!, 1, inputs),
    await ortRunner(ort, `${key} onnxruntime default threads`, model.onnx!, 0, inputs),
  ];
  if (key !== 'vit-tiny') return runners;
  const d = maxAbsDiff(await runners[0].run(8), officialLogits(parity, 0, 0, 8)!);
  addCheck({ what: 'onnxruntime ViT-Tiny vs official r = 0 logits (8 parity images)', maxAbsDiff: d, tolerance: PARITY_TOLERANCE, ok: d <= PARITY_TOLERANCE });
  if (d <= PARITY_TOLERANCE) return runners;
  log(`onnxruntime peer skipped for ${key}: the ONNX graph does not reproduce the official logits`);
  for (const r of runners) await r.dispose();
  return null;
}

export async function runPeer(
  key: string,
  batch: number,
  rounds: number,
  ortRunners: Runner[],
  original: TfjsRunner,
  turbo: TfjsRunner,
  cfg: { r: number; alpha: number; flopRatio: number },
  tick: (label: string) => void,
): Promise<PeerRow> {
  const runners = [ortRunners[0], ortRunners[1], original, turbo].map((r) => timedRunner(r, batch));
  const { warm: w, times } = await interleave(runners, { rounds, onRun: tick });
  const warm = w as Float32Array[];
  // Single-threaded engines by CPU time; onnxruntime with its default thread pool by wall clock
  // (its CPU time adds up all threads).
  const ms = { ort1: median(times[0].cpu), ortDefault: median(times[1].wall), original: median(times[2].cpu), turbo: median(times[3].cpu) };
  const wallMs = { ort1: median(times[0].wall), ortDefault: median(times[1].wall), original: median(times[2].wall), turbo: median(times[3].wall) };
  const ips = (m: number) => (1000 * batch) / m;
  return {
    model: key,
    batch,
    turbo: cfg,
    ms,
    wallMs,
    imagesPerSec: { ort1: ips(ms.ort1), ortDefault: ips(ms.ortDefault), original: ips(ms.original), turbo: ips(ms.turbo) },
    turboOverOrt1: ms.ort1 / ms.turbo,
    turboOverOrtDefault: ms.ortDefault / ms.turbo,
    originalOverOrt1: ms.ort1 / ms.original,
    turboOverOrt1Wall: wallMs.ort1 / wallMs.turbo,
    turboOverOrtDefaultWall: wallMs.ortDefault / wallMs.turbo,
    ortVsTfjsMaxAbsDiff: maxAbsDiff(warm[0], warm[2]),
    logitScale: maxAbs(warm[2]),
    samples: { ort1: rounded(times[0]), ortDefault: rounded(times[1]), original: rounded(times[2]), turbo: rounded(times[3]) },
  };
}
