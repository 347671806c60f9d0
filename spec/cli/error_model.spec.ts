// One error model (issue 26, item 1): the library throws typed errors carrying the option key or
// the file, never CLI flag names and never a message to be taken apart; cli/run.ts alone turns an
// option key into the flag the user typed.
import { Command } from 'commander';
import * as path from 'path';
import { embeddedModelDir, rewriteGraph } from '../../src/convert';
import { GraphError, OptionsError } from '../../src/errors';
import { readGraphModel } from '../../src/graph/model_io';
import { applyTextDrop } from '../../src/rewrite/text_drop';
import { flagOf, runProgram } from '../../src/cli/run';
import { BLIP_SMALL } from '../blip/blip_fixture';

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
};

test('option errors from the library carry the key and the problem, as typed errors', async () => {
  const vit = await readGraphModel(embeddedModelDir());
  for (const [partial, option, problem] of [
    [{ alpha: NaN }, 'alpha', 'NaN is not a finite number'],
    [{ rThreshold: -1 }, 'rThreshold', '-1 is negative; it must be a non-negative integer'],
    [{ r: [4, 2.5] }, 'r', 'entry 1 2.5 is not an integer'],
    [{ r: 500 }, 'r', "500 (block 0) is more than the model's 197 tokens"],
  ] as const) {
    const e = thrown(() => rewriteGraph(vit, partial as never, 'm/model.json'));
    expect(e).toBeInstanceOf(OptionsError);
    expect(e).toMatchObject({ option, problem, message: `${option}: ${problem}` });
  }
  const text = await readGraphModel(path.join(BLIP_SMALL, 'caption', 'decoder'));
  expect(thrown(() => applyTextDrop(text, { dropRate: 2 }))).toMatchObject({ option: 'dropRate', message: 'dropRate: must be in [0, 1], got 2' });
});

test('a model without transformer blocks is a GraphError naming the file, from every entry that plans', async () => {
  // The attention's Softmax taken out: nothing is a transformer block any more.
  const cut = await readGraphModel(embeddedModelDir());
  for (const n of [...cut.nodes]) if (n.op === 'Softmax') n.op = 'Identity';
  const e = thrown(() => rewriteGraph(cut, {}, 'cut/model.json'));
  expect(e).toBeInstanceOf(GraphError);
  expect((e as GraphError).message).toMatch(/^cut\/model\.json: no transformer blocks found: no Softmax at all/);
});

test('the CLI prints an option error with the flag the user typed', async () => {
  expect(['r', 'dropRate', 'maxLength', 'targetSpeedup', 'rThreshold', 'inflect', 'propAttn'].map(flagOf)).toEqual([
    '--r', '--drop-rate', '--max-length', '--target-speedup', '--r-threshold', '--r', '--no-prop-attn',
  ]);
  const lines: string[] = [];
  const program = new Command('x').action(() => {
    throw new OptionsError('dropRate', 'must be in [0, 1], got 2');
  });
  expect(await runProgram(program, [], { err: (s) => lines.push(s) })).toBe(1);
  expect(lines).toEqual(['error: --drop-rate: must be in [0, 1], got 2\n']);
});
