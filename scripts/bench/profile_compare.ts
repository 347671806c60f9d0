// bench's profile rows: where an original and a Turbo graph spend their time, per kernel category,
// from interleaved unprofiled and profiled runs (profile.ts), and the dense matmuls' throughput by
// tokens per image.

import { KernelRun, CAT, kernelCategory, profileKernels } from './profile';
import { ProfileCategory, ProfileResult, round1, round2 } from './results';
import { TfjsRunner } from './runners';
import { median, timeOnce } from '../../src/runtime/timing';

interface KernelProfile {
  wallMs: number;
  totalMs: number;
  byCat: Map<string, { ms: number; n: number }>;
  /** Dense matmuls by rows per image (tokens; 1 = the head): CPU ms and multiply-adds. */
  denseByTokens: Map<number, { ms: number; macs: number }>;
}

/** Per category: every recorded kernel but the op-level wrappers (kernelCategory null), nested ones included. */
function byCategory(run: KernelRun, batch: number): KernelProfile {
  const byCat = new Map<string, { ms: number; n: number }>();
  const denseByTokens = new Map<number, { ms: number; macs: number }>();
  let totalMs = 0;
  for (const k of run.kernels) {
    const ins = k.inputShapes;
    const outs = k.outputShapes;
    const cat = kernelCategory(k.name, ins, outs);
    if (cat === null) continue;
    const ms = k.ms;
    if (cat === CAT.dense && ins[0] && outs[0]) {
      // [rows, K] x [K, N] -> [rows, N] with rows = batch x tokens.
      const rows = ins[0].slice(0, -1).reduce((a, b) => a * b, 1);
      const macs = rows * ins[0][ins[0].length - 1] * outs[0][outs[0].length - 1];
      const tokens = Math.round(rows / batch);
      const d = denseByTokens.get(tokens) ?? { ms: 0, macs: 0 };
      d.ms += ms;
      d.macs += macs;
      denseByTokens.set(tokens, d);
    }
    const e = byCat.get(cat) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n++;
    byCat.set(cat, e);
    totalMs += ms;
  }
  return { wallMs: run.wallMs, totalMs, byCat, denseByTokens };
}

export async function profilePair(
  key: string,
  backend: string,
  batch: number,
  original: TfjsRunner,
  turbo: TfjsRunner,
  cfg: { r: number; alpha: number; flopRatio: number },
  runs: number,
): Promise<ProfileResult> {
  // Both graphs are warm. Unprofiled times and profiled runs, interleaved; per-category medians.
  const wall = { original: [] as number[], turbo: [] as number[] };
  const cpu = { original: [] as number[], turbo: [] as number[] };
  const prof = { original: [] as KernelProfile[], turbo: [] as KernelProfile[] };
  for (let i = 0; i < runs; i++) {
    for (const [name, r] of [['original', original], ['turbo', turbo]] as const) {
      const t = await timeOnce(() => r.run(batch));
      wall[name].push(t.wallMs);
      cpu[name].push(t.cpuMs);
      prof[name].push(byCategory(await profileKernels(() => r.forward(batch)), batch));
    }
  }
  const med = (ps: KernelProfile[], c: string) => median(ps.map((p) => p.byCat.get(c)?.ms ?? 0));
  const count = (ps: KernelProfile[], c: string) => ps[0].byCat.get(c)?.n ?? 0;
  const cats = new Set([...prof.original[0].byCat.keys(), ...prof.turbo[0].byCat.keys()]);
  const excess = (c: ProfileCategory) => c.turboMs - c.originalMs / cfg.flopRatio;
  const categories = [...cats]
    .map((c) => ({
      category: c,
      originalMs: round2(med(prof.original, c)),
      turboMs: round2(med(prof.turbo, c)),
      originalKernels: count(prof.original, c),
      turboKernels: count(prof.turbo, c),
    }))
    .sort((a, b) => excess(b) - excess(a));
  // Dense matmul throughput by tokens: the original (197 tokens) and every token count of the Turbo graph.
  const dense = new Map<number, { ms: number; macs: number }>();
  for (const p of [...prof.original, ...prof.turbo]) {
    for (const [t, d] of p.denseByTokens) {
      const e = dense.get(t) ?? { ms: 0, macs: 0 };
      e.ms += d.ms;
      e.macs += d.macs;
      dense.set(t, e);
    }
  }
  const denseGflops = [...dense]
    .filter(([t]) => t > 1)
    .sort((a, b) => b[0] - a[0])
    .map(([tokens, d]) => ({ tokens, gflops: round2((2 * d.macs) / (d.ms * 1e6)) }));
  return {
    model: key,
    backend,
    batch,
    ...cfg,
    runs,
    denseGflops,
    wallMs: { original: round1(median(wall.original)), turbo: round1(median(wall.turbo)) },
    cpuMs: { original: round1(median(cpu.original)), turbo: round1(median(cpu.turbo)) },
    profiledWallMs: { original: round1(median(prof.original.map((p) => p.wallMs))), turbo: round1(median(prof.turbo.map((p) => p.wallMs))) },
    kernelMs: { original: round1(median(prof.original.map((p) => p.totalMs))), turbo: round1(median(prof.turbo.map((p) => p.totalMs))) },
    categories,
  };
}
