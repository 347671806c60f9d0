// Full-size topologies (model.json only, no shards) of real tensorflowjs_converter output:
// matched, planned and rewritten without any constant values, then validated. The small
// fixtures, read the same way, must give the same plan as with their weights, so the
// value-free fallbacks agree with the value-based path.

import * as fs from 'fs';
import * as path from 'path';
import { readGraphModel, readModelJsonOnly } from '../../src/graph/model_io';
import { Graph } from '../../src/graph/ir';
import { applyTurbo, planTurbo, validateRewritten, RewriteOptions } from '../../src/rewrite/pass';
import { HF_FIXTURES } from './hf_fixture';

interface Expected {
  architecture: string;
  blocks: number;
  protectedTokens: number;
  tokenCount: number;
  hidden: number;
  mlp: number;
}

/** What each full configuration is (docs/PYTHON-EXPORT.md, converters/python/export_hf.py FULL). */
const EXPECTED: Record<string, Expected> = {
  'vit-b16-224-full': { architecture: 'vit', blocks: 12, protectedTokens: 1, tokenCount: 197, hidden: 768, mlp: 3072 },
  'deit-b16-distilled-224-full': { architecture: 'deit', blocks: 12, protectedTokens: 2, tokenCount: 198, hidden: 768, mlp: 3072 },
  'clip-b16-224-full': { architecture: 'clip', blocks: 12, protectedTokens: 1, tokenCount: 197, hidden: 768, mlp: 3072 },
  'blip-b16-384-full': { architecture: 'blip', blocks: 12, protectedTokens: 1, tokenCount: 577, hidden: 768, mlp: 3072 },
  'vit-l16-224-full': { architecture: 'vit', blocks: 24, protectedTokens: 1, tokenCount: 197, hidden: 1024, mlp: 4096 },
  'clip-l14-224-full': { architecture: 'clip', blocks: 24, protectedTokens: 1, tokenCount: 257, hidden: 1024, mlp: 4096 },
};

/** Spelled out for the two B/16-224 cases (TURBO.md step 1: r <= floor((N - p) / 2)). */
const R16_SCHEDULES: Record<string, number[]> = {
  'vit-b16-224-full': [181, 165, 149, 133, 117, 101, 85, 69, 53, 37, 21, 11],
  'deit-b16-distilled-224-full': [182, 166, 150, 134, 118, 102, 86, 70, 54, 38, 22, 12],
};

/** Tokens after each block with a constant r, written from TURBO.md independently of src/turbo. */
function constantRSchedule(n0: number, protectedTokens: number, r: number, blocks: number): number[] {
  const out: number[] = [];
  let n = n0;
  for (let l = 0; l < blocks; l++) {
    n -= Math.max(0, Math.min(r, Math.floor((n - protectedTokens) / 2)));
    out.push(n);
  }
  return out;
}

const R16: RewriteOptions = { r: 16, alpha: 5, beta: 1, gamma: 0, rThreshold: 0, propAttn: true };

const fullDirs = fs
  .readdirSync(HF_FIXTURES)
  .filter((d) => d.endsWith('-full') && fs.existsSync(path.join(HF_FIXTURES, d, 'model.json')))
  .sort();

function ops(graph: Graph, op: string) {
  return graph.nodes.filter((n) => n.op === op);
}

test('full topologies are model.json only and each is known to this spec', () => {
  expect(fullDirs.length).toBeGreaterThanOrEqual(2);
  for (const d of fullDirs) {
    expect(Object.keys(EXPECTED)).toContain(d);
    expect(fs.readdirSync(path.join(HF_FIXTURES, d)).filter((f) => f.endsWith('.bin'))).toEqual([]);
  }
});

test('the r = 16 schedules spelled out agree with the clamping rule', () => {
  for (const [name, schedule] of Object.entries(R16_SCHEDULES)) {
    const e = EXPECTED[name];
    expect(constantRSchedule(e.tokenCount, e.protectedTokens, 16, e.blocks)).toEqual(schedule);
  }
});

describe.each(fullDirs)('%s', (name) => {
  const e = EXPECTED[name];
  const file = path.join(HF_FIXTURES, name, 'model.json');

  test('matches the family, blocks, protected tokens, width and the r = 16 schedule', async () => {
    const graph = await readModelJsonOnly(file);
    const plan = planTurbo(graph, R16);
    expect(plan.architecture).toBe(e.architecture);
    expect(plan.blocks.length).toBe(e.blocks);
    expect(plan.protectedTokens).toBe(e.protectedTokens);
    expect(plan.tokenCount).toBe(e.tokenCount);
    expect(plan.dims).toEqual({ hidden: e.hidden, mlp: e.mlp });
    expect(plan.schedule).toEqual(new Array(e.blocks).fill(16));
    const expected = R16_SCHEDULES[name] ?? constantRSchedule(e.tokenCount, e.protectedTokens, 16, e.blocks);
    expect(plan.tokensAfterBlock).toEqual(expected);
  });

  test('rewrites into a valid topology: every input resolves, no static token count left', async () => {
    const graph = await readModelJsonOnly(file);
    const nodesBefore = graph.nodes.length;
    const plan = planTurbo(graph, R16);
    const summary = applyTurbo(graph, plan, R16);
    expect(validateRewritten(graph, plan)).toEqual([]);
    expect(graph.danglingInputs()).toEqual([]);
    expect(graph.nodes.length).toBeGreaterThan(nodesBefore);

    expect(summary.merges).toBe(e.blocks);
    expect(summary.biasedSoftmaxes).toBe(e.blocks - 1);
    const merges = ops(graph, 'TurboMerge');
    expect(merges).toHaveLength(e.blocks);
    for (const m of merges) expect(Number(m.attr!.protected_tokens.i)).toBe(e.protectedTokens);
    expect(ops(graph, 'TurboPropAttnBias')).toHaveLength(e.blocks - 1);
    // Every Softmax but the first reads logits + log(size).
    const biased = ops(graph, 'Softmax').filter((s) => graph.inputNode(s, 0)?.name.endsWith('/prop_attn_logits'));
    expect(biased).toHaveLength(e.blocks - 1);

    // The merge sits between each attention residual and the MLP that reads it.
    for (const [i, block] of plan.blocks.entries()) {
      expect(graph.consumers(block.attnResidual.name).map((c) => c.node.op)).toEqual(['TurboMerge']);
      expect(graph.node(`turbo/block_${i}/merge`).input![0]).toBe(block.attnResidual.name);
    }
    if (e.architecture === 'blip') expect(summary.dynamicReshapes).toBeGreaterThanOrEqual(2 * e.blocks);

    const meta = graph.modelJson.userDefinedMetadata!.turbo as { tokensAfterBlock: number[]; architecture: string };
    expect(meta.architecture).toBe(e.architecture);
    expect(meta.tokensAfterBlock).toEqual(plan.tokensAfterBlock);
    for (const out of Object.values(graph.modelJson.signature!.outputs!)) {
      expect(out.tensorShape!.dim!.map((d) => Number(d.size))).not.toContain(e.tokenCount);
    }
  });
});

describe.each(['vit-small', 'deit-small', 'clip-small', 'blip-small'])('%s read without its shards', (name) => {
  test('plans exactly as with its weights, and rewrites into a valid topology', async () => {
    const dir = path.join(HF_FIXTURES, name);
    const withWeights = planTurbo(await readGraphModel(dir), R16);
    const topology = await readModelJsonOnly(path.join(dir, 'model.json'));
    const plan = planTurbo(topology, R16);
    const pick = (p: typeof plan) => ({
      architecture: p.architecture,
      protectedTokens: p.protectedTokens,
      tokenCount: p.tokenCount,
      blocks: p.blocks.map((b) => [b.keysRef, b.softmax.name, b.attnResidual.name, b.mlpResidual.name]),
      tokensAfterBlock: p.tokensAfterBlock,
      dims: p.dims,
    });
    expect(pick(plan)).toEqual(pick(withWeights));
    applyTurbo(topology, plan, R16);
    expect(validateRewritten(topology, plan)).toEqual([]);
  });
});
