// The generated 'bench' section of docs/BENCHMARKS.md from a results file (results.ts).

import { median } from '../../src/runtime/timing';
import { MEMORY_BUDGET, Result, Row } from './results';

/**
 * Noise estimate: at the same r, alpha 0 and alpha 5 graphs do the same work (alpha only changes
 * which tokens merge), so the spread of their Turbo times is measurement noise.
 */
function alphaSpread(rows: Row[]): { n: number; median: number; max: number } | null {
  const diffs: number[] = [];
  for (const a of rows) {
    if (a.r === 0 || a.alpha === null) continue;
    for (const b of rows) {
      if (b === a || b.alpha === null || b.alpha <= a.alpha || b.r !== a.r || b.model !== a.model || b.backend !== a.backend || b.batch !== a.batch) continue;
      diffs.push(Math.abs(a.turboMs - b.turboMs) / Math.min(a.turboMs, b.turboMs));
    }
  }
  return diffs.length ? { n: diffs.length, median: median(diffs), max: Math.max(...diffs) } : null;
}

export function renderMarkdown(r: Result): string {
  const m = r.machine;
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const L: string[] = [];
  const wallOverCpu = r.rows.length ? median(r.rows.map((x) => x.originalWallMs / x.originalMs)).toFixed(2) : '—';
  L.push(
    `## Throughput (generated)`,
    '',
    `Generated on ${r.date.slice(0, 16).replace('T', ' ')} UTC (${Math.round(r.seconds / 60)} min) by`,
    '',
    '```',
    `npx tsc -p tsconfig.json && ${r.command}`,
    '```',
    '',
    `- Machine: ${m.cpu}, ${m.cores} logical CPUs, ${m.memGiB} GiB, ${m.os}; **shared with other jobs** (load average ${m.loadAvgStart.join(' / ')} at the start, ${m.loadAvgEnd.join(' / ')} at the end).`,
    `- Code: ${r.code}.`,
    `- Versions: tfjs ${r.versions.tfjs}, Node ${r.versions.node}, onnxruntime-node ${r.versions.onnxruntimeNode ?? '—'}${r.versions.onnx ? `; ONNX export (scripts/bench/export_onnx.py): Python ${r.versions.python}, onnx ${r.versions.onnx}, numpy ${r.versions.numpy}, safetensors ${r.versions.safetensors}` : ''}.`,
    `- Backends: ${Object.entries(r.backends)
      .map(([b, s]) => `**${b}**: ${s}`)
      .join('; ')}.`,
    ...Object.entries(r.models).map(
      ([k, v]) =>
        `- \`${k}\`: ${v.title}; tfjs graph from ${v.source} (${v.weightMiB} MiB of weights, ${v.nodes.original} nodes; the Turbo graph at ${v.nodes.turboConfig} has ${v.nodes.turbo}: ${Object.entries(v.nodes.changedOps)
          .map(([op, [a, b]]) => `${op} ${a} → ${b}`)
          .join(', ')})${v.onnx ? `; ONNX \`${v.onnx}\`` : ''}.`,
    ),
    `- Method: inputs are the 8 preprocessed parity images (spec/fixtures/parity/vit-tiny-inputs.f32; batch 1 = the first). For each (model, backend, batch) the original graph and as many Turbo graphs as fit a ${MEMORY_BUDGET / 1e9} GB weight budget (ViT-B: up to 4, ViT-Tiny: all) are loaded together, run once each to warm up, then ${r.settings.rounds} rounds round-robin (${r.settings.cpuRounds} on cpu), the first graph rotating every round. \`execute()\` (synchronous), logits read back every run. r = 0 merges nothing, so alpha has no effect there: it is measured once.`,
    `- Clock: **ms = median CPU time of the process per run** (user + system; tfjs wasm and cpu and onnxruntime with 1 thread are single-threaded, so this is the time on one core that is not shared), images/s = batch ÷ that. On this shared machine the wall clock mostly measures the other jobs (in this run a tfjs graph took ${wallOverCpu} × its CPU time of wall time, median over rows); wall medians are in results.json and in the "wall speed-up" column. onnxruntime with its default thread pool is timed by the wall clock (its CPU time adds up all threads).`,
    `- FLOP ratio = estimated multiply-adds of the unmerged blocks ÷ those with the schedule (\`estimateFlopRatio\`, src/turbo/schedule.ts; embedding and head left out); **kept** = speed-up ÷ FLOP ratio (100 % = the whole speed-up the schedule allows). **All ratios come from this one interleaved run.**`,
    '',
  );

  if (r.checks.length || r.peers.length) {
    L.push('Checks (same networks, same numbers):', '');
    for (const c of r.checks) L.push(`- ${c.what}: max |Δ| = ${c.maxAbsDiff.toExponential(1)}${c.ok === null ? '' : c.ok ? ` (≤ ${c.tolerance}: ok)` : ` (> ${c.tolerance}: **FAILED**)`}`);
    for (const p of r.peers) {
      L.push(`- onnxruntime vs tfjs-wasm original, ${p.model}, batch ${p.batch}: max |Δ logits| = ${p.ortVsTfjsMaxAbsDiff.toExponential(1)} (largest |logit| ${p.logitScale.toFixed(2)})`);
    }
    L.push('');
  }

  const schedules = new Map<number, number[]>();
  for (const row of r.rows) if (!schedules.has(row.r)) schedules.set(row.r, row.tokensAfterBlock);
  if (schedules.size) {
    L.push('Tokens after each block (197 tokens in, class token protected; the same for both models):', '', '| r | tokens after blocks 1–12 |', '| ---: | --- |');
    for (const [rr, t] of [...schedules].sort((a, b) => a[0] - b[0])) L.push(`| ${rr} | ${t.join(', ')} |`);
    L.push('');
  }

  const order = (x: Row) => [Object.keys(r.models).indexOf(x.model), ['wasm', 'tensorflow', 'cpu'].indexOf(x.backend), x.batch, x.alpha ?? -1, x.r];
  const rows = [...r.rows].sort((a, b) => {
    const oa = order(a);
    const ob = order(b);
    for (let i = 0; i < oa.length; i++) if (oa[i] !== ob[i]) return oa[i] - ob[i];
    return 0;
  });
  L.push(
    '| model | backend | batch | r | alpha | tokens after last block | FLOP ratio | original ms | Turbo ms | original im/s | Turbo im/s | speed-up | kept | wall speed-up |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const x of rows) {
    L.push(
      `| ${x.model} | ${x.backend} | ${x.batch} | ${x.r} | ${x.alpha ?? '–'} | ${x.tokensAfterBlock[x.tokensAfterBlock.length - 1]} | ${x.flopRatio.toFixed(2)} | ${x.originalMs.toFixed(1)} | ${x.turboMs.toFixed(1)} | ${x.originalImagesPerSec.toFixed(2)} | ${x.turboImagesPerSec.toFixed(2)} | **${x.speedup.toFixed(2)}×** | ${pct(x.keptOfFlopRatio)} | ${x.speedupWall.toFixed(2)}× |`,
    );
  }
  const spread = alphaSpread(rows);
  if (spread) {
    L.push(
      '',
      `Noise: alpha changes which tokens merge, not how much work is done, so at equal r the alpha 0 and alpha 5 Turbo graphs cost the same; their measured times differ by ${(100 * spread.median).toFixed(1)} % (median) and ${(100 * spread.max).toFixed(1)} % (max) over ${spread.n} pairs. Read differences below that as noise.`,
    );
  }
  L.push('');

  const target = rows.filter((x) => x.model === 'vit-b' && x.backend === 'wasm' && x.r === 16);
  if (target.length) {
    L.push('Target (ViT-B/16-224, r = 16, wasm): speed-up ≥ 2.0× and ≥ 95 % of the FLOP ratio.', '');
    for (const x of target) {
      const a = x.speedup >= 2.0;
      const b = x.keptOfFlopRatio >= 0.95;
      L.push(
        `- batch ${x.batch}, alpha ${x.alpha}: ${x.speedup.toFixed(2)}× (wall ${x.speedupWall.toFixed(2)}×), FLOP ratio ${x.flopRatio.toFixed(2)}, kept ${pct(x.keptOfFlopRatio)}: ≥ 2.0× **${a ? 'met' : 'missed'}**, ≥ 95 % **${b ? 'met' : 'missed'}**`,
      );
    }
    L.push('');
  }

  if (r.peers.length) {
    L.push(
      `Peer: the same unmerged networks in onnxruntime-node (CPU execution provider; ${r.peer.threads}), same inputs, interleaved with the tfjs-wasm original and Turbo graphs in the same process (${r.settings.rounds} rounds, medians). Turbo = r ${r.settings.peerR}, alpha ${r.settings.peerAlpha}. Ratios > 1 mean Turbo-tfjs is faster.`,
      '',
      '| model | batch | ORT 1 thread im/s | ORT default threads im/s (wall) | tfjs-wasm original im/s | Turbo-tfjs (wasm) im/s | **Turbo-tfjs ÷ ORT 1 thread** | Turbo-tfjs ÷ ORT default threads | original tfjs ÷ ORT 1 thread | Turbo ÷ ORT 1 thread, wall clock |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const p of r.peers) {
      L.push(
        `| ${p.model} | ${p.batch} | ${p.imagesPerSec.ort1.toFixed(2)} | ${p.imagesPerSec.ortDefault.toFixed(2)} | ${p.imagesPerSec.original.toFixed(2)} | ${p.imagesPerSec.turbo.toFixed(2)} | **${p.turboOverOrt1.toFixed(2)}** | ${p.turboOverOrtDefault.toFixed(2)} | ${p.originalOverOrt1.toFixed(2)} | ${p.turboOverOrt1Wall.toFixed(2)} |`,
      );
    }
    L.push('');
  } else {
    L.push(`Peer: ${r.peer.skipped ?? 'not run'}.`, '');
  }

  if (r.experiments?.length) {
    L.push(
      'Experiments (bench-only variants of the Turbo graph, same interleaved method; not what convert-with-turbo writes): what fixing a found overhead would buy.',
      '',
      '| model | batch | graph | nodes | ms | speed-up | kept |',
      '| --- | ---: | --- | ---: | ---: | ---: | ---: |',
    );
    for (const e of r.experiments) {
      L.push(`| ${e.model} | ${e.batch} | ${e.name} | ${e.nodes} | ${e.cpuMs.toFixed(1)} | ${e.speedup.toFixed(2)}× | ${e.name === 'original' ? '—' : pct(e.kept)} |`);
    }
    L.push('');
  }

  for (const p of r.profiles) {
    const missing = p.cpuMs.turbo - p.cpuMs.original / p.flopRatio;
    L.push(
      `Profile: ${p.model}, ${p.backend}, batch ${p.batch}, Turbo r = ${p.r}, alpha ${p.alpha} (FLOP ratio ${p.flopRatio.toFixed(2)}). Unprofiled (CPU time, median of ${p.runs}): original ${p.cpuMs.original.toFixed(1)} ms, Turbo ${p.cpuMs.turbo.toFixed(1)} ms = ${(p.cpuMs.original / p.cpuMs.turbo).toFixed(2)}×; at the FLOP ratio Turbo would take ${(p.cpuMs.original / p.flopRatio).toFixed(1)} ms, ${missing >= 0 ? `so ${missing.toFixed(1)} ms are missing` : `so it is ${(-missing).toFixed(1)} ms faster than that`}. Kernel times: ${p.runs} interleaved \`tf.profile\` runs per graph, median per category (CPU time inside each kernel; the \`fusedMatMul__op\` wrappers tfjs also records are left out). **excess** = Turbo ms − original ms ÷ FLOP ratio: what each kind of work costs beyond perfect scaling (negative: it shrank by more than the FLOPs did).`,
      '',
      '| kernels | original ms (n) | Turbo ms (n) | Turbo ÷ original | excess ms |',
      '| --- | ---: | ---: | ---: | ---: |',
    );
    for (const c of p.categories) {
      const ratio = c.originalMs > 0 ? (c.turboMs / c.originalMs).toFixed(2) : '—';
      L.push(`| ${c.category} | ${c.originalMs.toFixed(1)} (${c.originalKernels}) | ${c.turboMs.toFixed(1)} (${c.turboKernels}) | ${ratio} | ${(c.turboMs - c.originalMs / p.flopRatio).toFixed(1)} |`);
    }
    // Unprofiled CPU time minus the kernels' CPU time: what the graph executor and JS glue cost.
    const oOver = p.cpuMs.original - p.kernelMs.original;
    const tOver = p.cpuMs.turbo - p.kernelMs.turbo;
    L.push(
      `| all kernels | ${p.kernelMs.original.toFixed(1)} | ${p.kernelMs.turbo.toFixed(1)} | ${(p.kernelMs.turbo / p.kernelMs.original).toFixed(2)} | ${(p.kernelMs.turbo - p.kernelMs.original / p.flopRatio).toFixed(1)} |`,
      `| outside kernels (unprofiled CPU ms − kernel CPU ms: graph executor, op glue, read-back) | ${oOver.toFixed(1)} | ${tOver.toFixed(1)} | ${(tOver / oOver).toFixed(2)} | ${(tOver - oOver / p.flopRatio).toFixed(1)} |`,
      '',
      `Dense matmul throughput (GFLOP/s, CPU time) by tokens per image in the block (batch ${p.batch}: rows = ${p.batch} × tokens); 197 = every block of the original:`,
      '',
      `| tokens | ${p.denseGflops.map((d) => d.tokens).join(' | ')} |`,
      `| ---: | ${p.denseGflops.map(() => '---:').join(' | ')} |`,
      `| GFLOP/s | ${p.denseGflops.map((d) => d.gflops.toFixed(1)).join(' | ')} |`,
      '',
    );
  }
  return L.join('\n');
}
