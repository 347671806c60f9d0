// convert-with-turbo end to end: success, dry run, and every kind of bad input
// (one-line error, non-zero exit, no partial OUT_DIR, input untouched).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildProgram } from '../../src/cli/convert-with-turbo';
import { runProgram } from '../../src/cli/run';
import { embeddedModelDir, convertWithTurbo } from '../../src/convert';
import { Graph } from '../../src/graph/ir';
import { readGraphModel, writeGraphModel } from '../../src/graph/model_io';
import { dirHash } from '../helpers/dir_hash';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-cli-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const code = await runProgram(buildProgram(), args, { err: (s) => (err += s) });
  return { code, err };
}

function copyModel(to: string): string {
  fs.cpSync(embeddedModelDir(), to, { recursive: true });
  return to;
}


function expectOneLineError(r: { code: number; err: string }, ...parts: string[]) {
  expect(r.code).not.toBe(0);
  expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  for (const p of parts) expect(r.err).toContain(p);
}

function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.startsWith('out'));
}

test('converts the embedded ViT-Tiny, records the settings, leaves the input untouched', async () => {
  const before = dirHash(embeddedModelDir());
  const out = path.join(tmp, 'out');
  const r = await cli(embeddedModelDir(), out, '--r', '13', '--alpha', '1');
  expect(r).toEqual({ code: 0, err: '' });
  const meta = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')).userDefinedMetadata.turbo;
  expect(meta).toMatchObject({ r: 13, alpha: 1, beta: 1, gamma: 0, rThreshold: 0, propAttn: true, architecture: 'vit' });
  expect(meta.tokensAfterBlock[11]).toBe(41); // 197 - 12 * 13, the official schedule
  expect(dirHash(embeddedModelDir())).toBe(before);
});

test('--dry-run writes nothing', async () => {
  const out = path.join(tmp, 'out');
  const r = await cli(embeddedModelDir(), out, '--dry-run', '--r', '20,-0.5');
  expect(r.code).toBe(0);
  expect(fs.existsSync(out)).toBe(false);
});

describe('bad input', () => {
  test('malformed model.json', async () => {
    const model = copyModel(path.join(tmp, 'in'));
    fs.writeFileSync(path.join(model, 'model.json'), '{"format": "graph-model", "modelTop');
    const before = dirHash(model);
    expectOneLineError(await cli(model, path.join(tmp, 'out')), path.join(model, 'model.json'), 'JSON');
    expect(leftovers(tmp)).toEqual([]);
    expect(dirHash(model)).toBe(before);
  });

  test('missing model.json', async () => {
    const empty = path.join(tmp, 'in');
    fs.mkdirSync(empty);
    expectOneLineError(await cli(empty, path.join(tmp, 'out')), 'model.json', 'not found');
    expect(leftovers(tmp)).toEqual([]);
  });

  test('missing shard', async () => {
    const model = copyModel(path.join(tmp, 'in'));
    const shard = fs.readdirSync(model).find((f) => f.endsWith('.bin'))!;
    fs.rmSync(path.join(model, shard));
    expectOneLineError(await cli(model, path.join(tmp, 'out')), shard, 'not found');
    expect(leftovers(tmp)).toEqual([]);
  });

  test('truncated shard', async () => {
    const model = copyModel(path.join(tmp, 'in'));
    const shards = fs.readdirSync(model).filter((f) => f.endsWith('.bin')).sort();
    const last = path.join(model, shards[shards.length - 1]);
    fs.truncateSync(last, Math.floor(fs.statSync(last).size / 2));
    expectOneLineError(await cli(model, path.join(tmp, 'out')), shards[shards.length - 1], 'truncated');
    expect(leftovers(tmp)).toEqual([]);
  });

  test('a graph with no transformer blocks', async () => {
    const model = path.join(tmp, 'in');
    const g = new Graph(
      { format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] },
      [],
    );
    g.addNode({ name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' } } });
    g.addConst('w', 'float32', [2, 2], [1, 0, 0, 1]);
    g.addNode({ name: 'y', op: 'MatMul', input: ['x', 'w'], attr: { T: { type: 'DT_FLOAT' } } });
    await writeGraphModel(g, model);
    expectOneLineError(await cli(model, path.join(tmp, 'out')), 'model.json', 'no transformer blocks found');
    expect(leftovers(tmp)).toEqual([]);
  });

  test.each([
    [['--r', '-1'], 'r'],
    [['--r', '2.5'], 'r'],
    [['--r-list', '4,x'], '--r-list'],
    [['--alpha', 'abc'], '--alpha'],
  ])('option %j', async (args, named) => {
    expectOneLineError(await cli(embeddedModelDir(), path.join(tmp, 'out'), ...args), named);
    expect(leftovers(tmp)).toEqual([]);
  });

  test('OUT_DIR equal to IN_DIR', async () => {
    const model = copyModel(path.join(tmp, 'in'));
    const before = dirHash(model);
    expectOneLineError(await cli(model, model), 'input');
    expect(dirHash(model)).toBe(before);
  });

  test('existing OUT_DIR without --force is refused; --force replaces a model directory, never other files', async () => {
    const out = path.join(tmp, 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'keep.txt'), 'mine');
    expectOneLineError(await cli(embeddedModelDir(), out), out, '--force');
    expectOneLineError(await cli(embeddedModelDir(), out, '--force'), out, 'holds no model.json');
    expect(fs.readFileSync(path.join(out, 'keep.txt'), 'utf8')).toBe('mine');
    fs.rmSync(path.join(out, 'keep.txt'));
    expect((await cli(embeddedModelDir(), out, '--force')).code).toBe(0);
    expect((await cli(embeddedModelDir(), out, '--force', '--r', '8')).code).toBe(0);
    expect(fs.existsSync(path.join(out, 'model.json'))).toBe(true);
  });

  test('an interrupted write leaves no OUT_DIR and no temporary directory', async () => {
    const out = path.join(tmp, 'out');
    await expect(
      convertWithTurbo(embeddedModelDir(), out, {
        onWriteProgress: (done) => {
          if (done > 0) throw new Error('disk full (simulated)');
        },
      }),
    ).rejects.toThrow('disk full');
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

test('the rewritten model read back has every input resolvable', async () => {
  const out = path.join(tmp, 'out');
  await convertWithTurbo(embeddedModelDir(), out, { r: 16 });
  const g = await readGraphModel(out);
  expect(g.danglingInputs()).toEqual([]);
  expect(g.nodes.filter((n) => n.op === 'TurboMerge')).toHaveLength(12);
  expect(g.nodes.filter((n) => n.op === 'TurboPropAttnBias')).toHaveLength(11);
});
