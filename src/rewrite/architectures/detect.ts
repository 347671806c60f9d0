// Which family a graph is. Every family says whether it matches and why; a family that
// specialises another (CLIP is a ViT with a pre-LayerNorm and quick-GELU) wins over it; two
// matching families that do not specialise one another are an error, as is no family at all,
// and that error lists every family's reason. The order of ARCHITECTURES plays no part.

import { Graph } from '../../graph/ir';
import { AttentionBlock, BlockSearchReport } from '../blocks';
import { NoTransformerBlocksError } from '../errors';
import { ARCHITECTURES } from './index';
import { Architecture, Detection } from './types';

export interface FamilyVerdict extends Detection {
  family: string;
  /** Blocks that family's findBlocks found. */
  blocks: number;
}

export interface ArchitectureChoice {
  arch: Architecture;
  blocks: AttentionBlock[];
  /** Why the chosen family matched. */
  reason: string;
  /** Every family tried, with its reason. */
  verdicts: FamilyVerdict[];
}

/** Each family's verdict on `graph`; families sharing a findBlocks hook share its search. */
export function detectFamilies(graph: Graph, families: readonly Architecture[] = ARCHITECTURES): { verdicts: FamilyVerdict[]; searches: Map<Architecture, BlockSearchReport> } {
  const byHook = new Map<Architecture['findBlocks'], BlockSearchReport>();
  const searches = new Map<Architecture, BlockSearchReport>();
  const verdicts = families.map((arch) => {
    let report = byHook.get(arch.findBlocks);
    if (!report) byHook.set(arch.findBlocks, (report = arch.findBlocks(graph)));
    searches.set(arch, report);
    const blocks = report.blocks.length;
    if (blocks === 0) return { family: arch.name, blocks, matches: false, reason: 'no attention blocks' };
    return { family: arch.name, blocks, ...arch.detect(graph, report.blocks) };
  });
  return { verdicts, searches };
}

/** The family `graph` is (or the one `forced` names, if it matches), with its blocks; throws NoTransformerBlocksError otherwise. */
export function chooseArchitecture(graph: Graph, forced?: string, families: readonly Architecture[] = ARCHITECTURES): ArchitectureChoice {
  let candidates = families;
  if (forced !== undefined) {
    candidates = families.filter((a) => a.name === forced);
    if (candidates.length === 0) {
      throw new NoTransformerBlocksError(`unknown architecture '${forced}' (known: ${families.map((a) => a.name).join(', ')})`);
    }
  }
  const { verdicts, searches } = detectFamilies(graph, candidates);
  if (verdicts.every((v) => v.blocks === 0)) throw noBlocksError(graph, searches.get(candidates[0])!);
  const blockCount = Math.max(...verdicts.map((v) => v.blocks));
  const matching = candidates.filter((_, i) => verdicts[i].matches);
  if (matching.length === 0) {
    const reasons = verdicts.map((v) => `${v.family}: ${v.reason}`).join('; ');
    throw new NoTransformerBlocksError(`found ${blockCount} attention block(s) but no known architecture fits (${reasons})`);
  }
  // A family drops out when a more specific matching family specialises it (directly or through others).
  const general = new Set(matching.flatMap((a) => generalisations(a, families)));
  const chosen = matching.filter((a) => !general.has(a.name));
  if (chosen.length !== 1) {
    const why = (chosen.length ? chosen : matching).map((a) => `${a.name}: ${verdicts[candidates.indexOf(a)].reason}`).join('; ');
    throw new NoTransformerBlocksError(`found ${blockCount} attention block(s) and more than one architecture fits, none a special case of the others (${why}); choose one with --architecture`);
  }
  const arch = chosen[0];
  return { arch, blocks: searches.get(arch)!.blocks, reason: verdicts[candidates.indexOf(arch)].reason, verdicts };
}

/** Every family `arch` specialises, directly or transitively. */
function generalisations(arch: Architecture, families: readonly Architecture[], seen = new Set<string>()): string[] {
  for (const name of arch.specialises) {
    if (seen.has(name)) continue;
    seen.add(name);
    const parent = families.find((a) => a.name === name);
    if (parent) generalisations(parent, families, seen);
  }
  return [...seen];
}

function noBlocksError(graph: Graph, report: BlockSearchReport): NoTransformerBlocksError {
  const seen = report.softmaxCount === 0 ? 'no Softmax at all' : `${report.softmaxCount} Softmax node(s), none in a block (${report.rejected[0]})`;
  return new NoTransformerBlocksError(
    `no transformer blocks found: ${seen} (graph ops: ${opSummary(graph)}); expected BatchMatMul(q, kᵀ) → Softmax → BatchMatMul(·, v) → projection → residual Add → MLP → residual Add`,
  );
}

/** The most frequent non-constant ops, e.g. "Conv2D ×1, Relu ×1, Mean ×1", for error messages. */
function opSummary(graph: Graph, limit = 8): string {
  const counts = new Map<string, number>();
  for (const n of graph.nodes) if (n.op !== 'Const') counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const shown = sorted.slice(0, limit).map(([op, c]) => `${op} ×${c}`);
  if (sorted.length > limit) shown.push(`${sorted.length - limit} more op type(s)`);
  return shown.length ? shown.join(', ') : 'none';
}
