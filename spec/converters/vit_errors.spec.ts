// Bad checkpoints and configs through convertVitCheckpoint and the CLI: one-line errors that name
// the file and the problem, a non-zero exit, and no output directory left behind.

import * as fs from 'fs';
import * as path from 'path';
import { buildProgram } from '../../converters/cli';
import { writeSafetensors } from '../../converters/safetensors';
import { convertVitCheckpoint } from '../../converters/vit';
import { runProgram } from '../../src/cli/run';
import { TurboInputError } from '../../src/errors';
import { readGraphModel } from '../../src/graph/model_io';
import { randomTimmTensors, vitConfigJson, writeRandomVit } from '../../scripts/random_vit';
import { TINY, tmpDir } from './helpers';

let tmp: string;
beforeEach(() => {
  tmp = tmpDir('turbo-vit-err-');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeConfig(patch: Record<string, unknown> = {}): string {
  const file = path.join(tmp, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ ...vitConfigJson(TINY), ...patch }));
  return file;
}

function checkpointWithout(name: string): string {
  const file = path.join(tmp, 'model.safetensors');
  writeSafetensors(file, randomTimmTensors(TINY).filter((t) => t.name !== name));
  return file;
}

async function expectInputError(p: Promise<unknown>, file: string, ...parts: string[]): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(TurboInputError);
  const msg = (err as Error).message;
  expect(msg).not.toContain('\n');
  expect(msg.startsWith(`${file}: `)).toBe(true);
  for (const part of parts) expect(msg).toContain(part);
}

describe('convertVitCheckpoint', () => {
  test('a missing tensor is named', async () => {
    const weights = checkpointWithout('blocks.1.mlp.fc2.bias');
    await expectInputError(convertVitCheckpoint(weights, writeConfig()), weights, "missing tensor 'blocks.1.mlp.fc2.bias' (timm names)");
  });

  test('neither timm nor HF names', async () => {
    const weights = checkpointWithout('patch_embed.proj.weight');
    await expectInputError(convertVitCheckpoint(weights, writeConfig()), weights, "missing tensor 'patch_embed.proj.weight' (timm) or 'vit.embeddings.patch_embeddings.projection.weight' (HF)");
  });

  test('a tensor whose shape disagrees with the config', async () => {
    const { weights } = writeRandomVit(tmp, TINY);
    await expectInputError(convertVitCheckpoint(weights, writeConfig({ image_size: 40 })), weights, "tensor 'pos_embed' has shape [1,17,32], the config implies [1,26,32]");
  });

  test('weights file missing', async () => {
    const weights = path.join(tmp, 'absent.safetensors');
    await expectInputError(convertVitCheckpoint(weights, writeConfig()), weights, 'not found');
  });

  test('config missing, not JSON, or incomplete', async () => {
    const { weights } = writeRandomVit(tmp, TINY);
    const absent = path.join(tmp, 'absent.json');
    await expectInputError(convertVitCheckpoint(weights, absent), absent, 'not found');
    const config = writeConfig();
    fs.writeFileSync(config, '{"image_size": 32,');
    await expectInputError(convertVitCheckpoint(weights, config), config, 'not valid JSON');
    await expectInputError(convertVitCheckpoint(weights, writeConfig({ num_heads: undefined })), config, "missing 'num_heads'");
    await expectInputError(convertVitCheckpoint(weights, writeConfig({ num_heads: 3 })), config, 'hidden_size 32 is not divisible by num_heads 3');
  });

  test('HF config keys are accepted', async () => {
    const { weights } = writeRandomVit(tmp, TINY, 0, 'hf');
    const config = path.join(tmp, 'hf-config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        image_size: 32,
        patch_size: 8,
        hidden_size: 32,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 64,
        layer_norm_eps: 1e-12,
        id2label: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), `c${i}`])),
      }),
    );
    const graph = await convertVitCheckpoint(weights, config);
    expect(graph.modelJson.signature?.outputs?.logits.tensorShape?.dim?.[1].size).toBe('10');
  });
});

describe('CLI', () => {
  async function cli(...args: string[]): Promise<{ code: number; err: string; out: string }> {
    let err = '';
    let out = '';
    const code = await runProgram(buildProgram((s) => (out += `${s}\n`)), args, { err: (s) => (err += s) });
    return { code, err, out };
  }

  function expectOneLineError(r: { code: number; err: string }, ...parts: string[]): void {
    expect(r.code).not.toBe(0);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    for (const p of parts) expect(r.err).toContain(p);
  }

  test('converts, refuses to overwrite, then replaces with --force', async () => {
    const { weights, config } = writeRandomVit(path.join(tmp, 'ckpt'), TINY);
    const out = path.join(tmp, 'out');
    const first = await cli(weights, config, out);
    expect(first).toMatchObject({ code: 0, err: '' });
    expect(first.out).toContain('logits [-1, 10]');
    const graph = await readGraphModel(out);
    expect(graph.modelJson.signature?.inputs?.pixel_values.tensorShape?.dim?.map((d) => d.size)).toEqual(['-1', '3', '32', '32']);

    expectOneLineError(await cli(weights, config, out), out, 'already exists');
    expect(await cli(weights, config, out, '--force')).toMatchObject({ code: 0, err: '' });
    expect(fs.readdirSync(tmp).sort()).toEqual(['ckpt', 'out']);
  });

  test.each([
    ['a missing tensor', () => ({ weights: checkpointWithout('head.bias'), config: writeConfig() }), "missing tensor 'head.bias'"],
    ['a truncated file', () => truncated(), 'header length'],
    ['a missing weights file', () => ({ weights: path.join(tmp, 'absent.safetensors'), config: writeConfig() }), 'not found'],
  ])('%s: one line, non-zero exit, no output directory', async (_name, make, problem) => {
    const { weights, config } = make();
    const out = path.join(tmp, 'out');
    const r = await cli(weights, config, out);
    expectOneLineError(r, weights, problem);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('out'))).toEqual([]);
  });

  test('an unknown --dense-bias', async () => {
    const { weights, config } = writeRandomVit(tmp, TINY);
    expectOneLineError(await cli(weights, config, path.join(tmp, 'out'), '--dense-bias', 'fancy'), "'fancy' is not 'fused' or 'separate'");
  });

  function truncated(): { weights: string; config: string } {
    const { weights, config } = writeRandomVit(path.join(tmp, 'ckpt'), TINY);
    const bytes = fs.readFileSync(weights);
    fs.writeFileSync(weights, bytes.subarray(0, 100));
    return { weights, config };
  }
});
