// bench's measurement of one model on every backend: for each (backend, batch) the original graph
// and groups of Turbo graphs (as many as fit the memory budget) interleaved (timing.ts); checks
// against the official logits; then the onnxruntime peer and the per-kernel profile on wasm.

import { useBackend, BackendName } from '../../src/runtime/backend';
import { Inputs, ParityResult, PARITY_TOLERANCE, maxAbsDiff, officialLogits } from './inputs';
import { LoadedModel, turboGraph } from './models';
import { Job, chunk, variantsFor } from './options';
import { runPeer } from './peer';
import { profilePair } from './profile_compare';
import { Check, MEMORY_BUDGET, PeerRow, ProfileResult, Row, Variant, rounded } from './results';
import { Runner, TfjsRunner, tfjsRunner, timedRunner } from './runners';
import { interleave, median } from '../../src/runtime/timing';

export interface SweepContext {
  inputs: Inputs;
  parity: ParityResult[];
  alphas: number[];
  sweep: number[];
  /** The reference Turbo config of the peer and the profile. */
  peerR: number;
  peerAlpha: number;
  profileSet: Set<string>;
  profileRuns: number;
  tick: (label: string) => void;
  setTask: (task: string) => void;
  addCheck: (c: Check) => void;
  checks: Check[];
}

export interface SweepOutput {
  rows: Row[];
  peers: PeerRow[];
  profiles: ProfileResult[];
}

export async function measureModel(model: LoadedModel, backends: BackendName[], jobs: Job[], ortRunners: Runner[] | null, ctx: SweepContext, out: SweepOutput): Promise<void> {
  const key = model.spec.key;
  for (const backend of backends) {
    const myJobs = jobs.filter((j) => j.key === key && j.backend === backend);
    if (!myJobs.length) continue;
    await useBackend(backend);
    const original = await tfjsRunner(`${key} ${backend} original`, model.graph, ctx.inputs);
    for (const { batch, rounds } of myJobs) {
      const where = `${key} ${backend} b${batch}`;
      if (key === 'vit-tiny' && batch === 8 && !ctx.checks.some((c) => c.what.startsWith(`tfjs ${backend} ViT-Tiny original`))) {
        const d = maxAbsDiff(await original.run(8), officialLogits(ctx.parity, 0, 0, 8)!);
        ctx.addCheck({ what: `tfjs ${backend} ViT-Tiny original vs official r = 0 logits (8 parity images)`, maxAbsDiff: d, tolerance: PARITY_TOLERANCE, ok: d <= PARITY_TOLERANCE });
      }
      const cap = Math.max(1, Math.floor(MEMORY_BUDGET / model.weightBytes) - 1);
      for (const group of variantsFor(ctx.sweep, ctx.alphas).flatMap((g) => chunk(g, cap))) {
        out.rows.push(...(await measureGroup(model, backend, batch, rounds, original, group, ctx)));
      }

      // The peer and the profile use the reference Turbo config (r = --peer-r, default alpha).
      const wantPeer = backend === 'wasm' && ortRunners !== null;
      const wantProfile = backend === 'wasm' && ctx.profileSet.has(`${key}:${batch}`);
      if (wantPeer || wantProfile) {
        const t = turboGraph(model.graph, model.spec, ctx.peerR, ctx.peerAlpha);
        const turbo = await tfjsRunner(`${where} Turbo r=${ctx.peerR} α=${ctx.peerAlpha}`, t.graph, ctx.inputs);
        const cfg = { r: ctx.peerR, alpha: ctx.peerAlpha, flopRatio: t.flopRatio };
        if (wantPeer) out.peers.push(await runPeer(key, batch, rounds, ortRunners!, original, turbo, cfg, ctx.tick));
        if (wantProfile) {
          ctx.setTask(`${where} profiling`);
          out.profiles.push(await profilePair(key, backend, batch, original, turbo, cfg, ctx.profileRuns));
        }
        turbo.dispose();
      }
    }
    original.dispose();
  }
}

/** The original and one group of Turbo graphs, interleaved: one row per Turbo graph. */
async function measureGroup(model: LoadedModel, backend: BackendName, batch: number, rounds: number, original: TfjsRunner, group: Variant[], ctx: SweepContext): Promise<Row[]> {
  const key = model.spec.key;
  const where = `${key} ${backend} b${batch}`;
  const turbos: { v: Variant; runner: TfjsRunner; tokens: number[]; flopRatio: number }[] = [];
  for (const v of group) {
    const t = turboGraph(model.graph, model.spec, v.r, v.alpha ?? ctx.alphas[0]);
    const label = `${where} r=${v.r}${v.alpha === null ? '' : ` α=${v.alpha}`}`;
    turbos.push({ v, runner: await tfjsRunner(label, t.graph, ctx.inputs), tokens: t.tokens, flopRatio: t.flopRatio });
  }
  const runners = [original, ...turbos.map((t) => t.runner)].map((r) => timedRunner(r, batch));
  const { warm, times } = await interleave(runners, { rounds, onRun: ctx.tick });
  const origMs = median(times[0].cpu);
  const origWall = median(times[0].wall);
  const rows = turbos.map((t, i): Row => {
    // Turbo ViT-Tiny against the official Turbo logits where the parity file has this config.
    if (key === 'vit-tiny' && batch === 8 && t.v.r > 0) {
      const ref = officialLogits(ctx.parity, t.v.r, t.v.alpha!, 8);
      if (ref && !ctx.checks.some((c) => c.what.includes(`r = ${t.v.r}, alpha = ${t.v.alpha}`) && c.what.includes(backend))) {
        const d = maxAbsDiff(warm[i + 1]!, ref);
        ctx.addCheck({ what: `tfjs ${backend} Turbo ViT-Tiny r = ${t.v.r}, alpha = ${t.v.alpha} vs official Turbo logits`, maxAbsDiff: d, tolerance: PARITY_TOLERANCE, ok: d <= PARITY_TOLERANCE });
      }
    }
    const turboMs = median(times[i + 1].cpu);
    const turboWall = median(times[i + 1].wall);
    return {
      model: key,
      backend,
      batch,
      r: t.v.r,
      alpha: t.v.alpha,
      tokensAfterBlock: t.tokens,
      flopRatio: t.flopRatio,
      originalMs: origMs,
      turboMs,
      speedup: origMs / turboMs,
      keptOfFlopRatio: origMs / turboMs / t.flopRatio,
      originalImagesPerSec: (1000 * batch) / origMs,
      turboImagesPerSec: (1000 * batch) / turboMs,
      originalWallMs: origWall,
      turboWallMs: turboWall,
      speedupWall: origWall / turboWall,
      samples: { original: rounded(times[0]), turbo: rounded(times[i + 1]) },
      group: ['original', ...turbos.map((u) => `r=${u.v.r}${u.v.alpha === null ? '' : `,alpha=${u.v.alpha}`}`)],
      execMode: t.runner.mode,
    };
  });
  for (const t of turbos) t.runner.dispose();
  return rows;
}
