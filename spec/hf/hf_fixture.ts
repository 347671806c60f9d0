// Real tensorflowjs_converter output of HF TensorFlow ViT, DeiT, CLIP vision and BLIP vision
// (spec/fixtures/hf/<arch>-small, made by converters/python/export_hf.py; see
// docs/PYTHON-EXPORT.md) against TensorFlow's own outputs (reference.json) and against the numpy
// Turbo reference (turbo-reference.json, spec/reference/turbo_ref.py), on cpu and wasm.
// Shared by one spec file per architecture, so jest runs them in parallel workers.

import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { rewriteGraph } from '../../src/convert';
import { graphToArtifacts, readGraphModel } from '../../src/graph/model_io';
import { registerTurboOps } from '../../src/ops/register';
import { RewriteOptions, RewriteSummary } from '../../src/rewrite/pass';
import { describeBackends } from '../helpers/backends';
import { maxAbsDiff } from '../helpers/parity';

export const HF_FIXTURES = path.join(__dirname, '..', 'fixtures', 'hf');

/** Tolerances of the issue: TF vs tfjs, numpy Turbo vs rewritten graph, r = 0 rewrite vs original. */
export const TOL_TF = 1e-4;
export const TOL_TURBO = 2e-3;
export const TOL_IDENTITY = 1e-6;

type Nested = number | Nested[];

interface OutputData {
  shape: number[];
  data: Nested;
}

/** One setting of turbo-reference.json; absent fields take the file's `defaults`. */
export interface TurboConfig {
  /** A number, or a per-block list (padded with 0): never the (r, inflect) pair here. */
  r: number | number[];
  alpha?: number;
  beta?: number;
  gamma?: number;
  rThreshold?: number;
  propAttn?: boolean;
}

interface TurboReference {
  architecture: string;
  protectedTokens: number;
  defaults: Required<Omit<TurboConfig, 'r'>>;
  results: { config: TurboConfig; tokensAfterEachBlock: number[]; outputs: Record<string, OutputData> }[];
}

interface TfReference {
  inputs: { pixel_values: { file: string; shape: number[] } };
  outputs: Record<string, OutputData & { tensor: string }>;
}

export interface HfFixture {
  name: string;
  dir: string;
  tf: TfReference;
  turbo: TurboReference;
  /** Output key -> graph node (Identity, Identity_1, ...), from reference.json. */
  outputNodes: Record<string, string>;
  inputData: Float32Array;
}

export function loadHfFixture(name: string): HfFixture {
  const dir = path.join(HF_FIXTURES, name);
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const tfRef: TfReference = read('reference.json');
  const buf = fs.readFileSync(path.join(dir, tfRef.inputs.pixel_values.file));
  return {
    name,
    dir,
    tf: tfRef,
    turbo: read('turbo-reference.json'),
    outputNodes: Object.fromEntries(Object.entries(tfRef.outputs).map(([k, v]) => [k, v.tensor.replace(/:0$/, '')])),
    inputData: new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice(),
  };
}

/** The reference's setting as rewrite options, with the reference's own defaults. */
export function turboOptions(config: TurboConfig, defaults: TurboReference['defaults']): RewriteOptions {
  return {
    r: Array.isArray(config.r) ? [...config.r] : config.r,
    alpha: config.alpha ?? defaults.alpha,
    beta: config.beta ?? defaults.beta,
    gamma: config.gamma ?? defaults.gamma,
    rThreshold: config.rThreshold ?? defaults.rThreshold,
    propAttn: config.propAttn ?? defaults.propAttn,
  };
}

export interface HfRun {
  outputs: Record<string, { shape: number[]; data: Float32Array }>;
  /** Tokens after each block (shape[1] of every block output); empty when not rewritten. */
  tokens: number[];
  summary: RewriteSummary | null;
}

/** Runs the fixture's graph, rewritten with `options` unless null, and reads every output. */
export async function runHf(fx: HfFixture, options: RewriteOptions | null): Promise<HfRun> {
  const graph = await readGraphModel(fx.dir);
  const summary = options ? rewriteGraph(graph, options) : null;
  const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
  const keys = Object.keys(fx.outputNodes);
  const blockOutputs = summary ? summary.plan.blocks.map((b) => b.mlpResidual.name) : [];
  const input = tf.tensor(fx.inputData, fx.tf.inputs.pixel_values.shape);
  try {
    const result = await model.executeAsync({ pixel_values: input }, [...keys.map((k) => fx.outputNodes[k]), ...blockOutputs]);
    const outs = Array.isArray(result) ? result : [result];
    const outputs: HfRun['outputs'] = {};
    for (const [i, k] of keys.entries()) outputs[k] = { shape: outs[i].shape, data: (await outs[i].data()) as Float32Array };
    const tokens = outs.slice(keys.length).map((t) => t.shape[1]!);
    tf.dispose(outs);
    return { outputs, tokens, summary };
  } finally {
    input.dispose();
    model.dispose();
  }
}

function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}

/** Largest |a - b| over every output; shapes must agree. */
export function compareOutputs(actual: HfRun['outputs'], expected: Record<string, OutputData>): number {
  let worst = 0;
  for (const [k, e] of Object.entries(expected)) {
    const a = actual[k];
    if (!a) throw new Error(`output '${k}' missing`);
    expect(a.shape).toEqual(e.shape);
    worst = Math.max(worst, maxAbsDiff(a.data, flat(e.data)));
  }
  return worst;
}

function compareRuns(a: HfRun['outputs'], b: HfRun['outputs']): number {
  let worst = 0;
  for (const k of Object.keys(b)) {
    expect(a[k].shape).toEqual(b[k].shape);
    worst = Math.max(worst, maxAbsDiff(a[k].data, b[k].data));
  }
  return worst;
}

/** What the rewriter must recognise in this fixture, stated independently of the references. */
export interface HfExpectations {
  architecture: 'vit' | 'deit' | 'clip' | 'blip';
  protectedTokens: number;
  tokenCount: number;
  blocks: number;
}

export function describeHfFixture(name: string, expected: HfExpectations): void {
  const fx = loadHfFixture(name);
  const worst: Record<string, number> = {};
  const note = (key: string, d: number) => (worst[key] = Math.max(worst[key] ?? 0, d));

  afterAll(() => {
    // Max differences seen, for the record (jest prints console output of the file).
    console.log(`${name} max abs diffs: ${JSON.stringify(worst)}`);
  });

  test('the references agree with what the fixture is', () => {
    expect(fx.turbo.architecture).toBe(expected.architecture);
    expect(fx.turbo.protectedTokens).toBe(expected.protectedTokens);
    expect(fx.turbo.results.length).toBeGreaterThan(1);
    expect(Object.keys(fx.turbo.results[0].outputs).sort()).toEqual(Object.keys(fx.tf.outputs).sort());
  });

  describeBackends(`${name}`, (backend) => {
    beforeAll(() => registerTurboOps());

    test(`converted graph (not rewritten) equals TensorFlow within ${TOL_TF}`, async () => {
      const run = await runHf(fx, null);
      const d = compareOutputs(run.outputs, fx.tf.outputs);
      note(`${backend} tf`, d);
      expect(d).toBeLessThan(TOL_TF);
    });

    test.each(fx.turbo.results.map((r) => [JSON.stringify(r.config), r] as const))(
      `Turbo %s equals the numpy reference within ${TOL_TURBO}`,
      async (_label, ref) => {
        const run = await runHf(fx, turboOptions(ref.config, fx.turbo.defaults));
        const plan = run.summary!.plan;
        expect(plan.architecture).toBe(expected.architecture);
        expect(plan.protectedTokens).toBe(expected.protectedTokens);
        expect(plan.tokenCount).toBe(expected.tokenCount);
        expect(plan.blocks.length).toBe(expected.blocks);
        expect(plan.tokensAfterBlock).toEqual(ref.tokensAfterEachBlock);
        expect(run.tokens).toEqual(ref.tokensAfterEachBlock);
        const d = compareOutputs(run.outputs, ref.outputs);
        note(`${backend} turbo`, d);
        expect(d).toBeLessThan(TOL_TURBO);
      },
    );

    test(`r = 0: the rewritten graph equals the original within ${TOL_IDENTITY}`, async () => {
      const options = turboOptions({ r: 0, alpha: 5 }, fx.turbo.defaults);
      const [original, rewritten] = [await runHf(fx, null), await runHf(fx, options)];
      expect(rewritten.summary!.merges).toBe(0);
      expect(rewritten.tokens).toEqual(new Array(expected.blocks).fill(expected.tokenCount));
      const d = compareRuns(rewritten.outputs, original.outputs);
      note(`${backend} r=0 identity`, d);
      expect(d).toBeLessThan(TOL_IDENTITY);
    });
  });
}
