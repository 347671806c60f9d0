// A whole BLIP model directory through convertBlipWithTurbo: vision merging in every vision
// encoder, text-side dropping in the graphs that cross-attend to image tokens, the pipelines on the
// result, and the output rules (atomic, never the input, --force only over a BLIP directory).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { answer } from '../../src/blip/answer';
import { caption } from '../../src/blip/caption';
import { convertBlipWithTurbo } from '../../src/blip/convert';
import { loadBlip } from '../../src/blip/load';
import { retrieve } from '../../src/blip/retrieve';
import { readGraphModel } from '../../src/graph/model_io';
import { TurboDropTokens, TurboMerge } from '../../src/ops/kernel_names';
import { useBackend } from '../../src/runtime/backend';
import { buildProgram } from '../../src/cli/blip-turbo';
import { runProgram } from '../../src/cli/run';
import { ArrayData, BLIP_SMALL, flat, maxDiff, fixtureImages, readJson } from './blip_fixture';


const texts = ['a photo of a dog', 'a goldfish swimming in the water.', 'Two Zebras standing on the grass ☺'];

describe('convertBlipWithTurbo', () => {
  let tmp: string;
  beforeAll(async () => {
    await useBackend('wasm');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'blip-convert-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('merges every vision encoder, drops image tokens in ITM / decoder / question, leaves the rest', async () => {
    const out = path.join(tmp, 'turbo');
    const result = await convertBlipWithTurbo(BLIP_SMALL, out, { vision: { r: 8 } });
    expect(Object.fromEntries(result.graphs.map((g) => [g.name, [g.merged, g.dropLayers]]))).toEqual({
      'retrieval/vision': [true, 0],
      'retrieval/text': [false, 0],
      'retrieval/itm': [false, 3],
      'caption/vision': [true, 0],
      'caption/decoder': [false, 3],
      'vqa/vision': [true, 0],
      'vqa/question': [false, 3],
      'vqa/answer': [false, 0],
    });
    const ops = async (g: string) => (await readGraphModel(path.join(out, g))).nodes.map((n) => n.op);
    expect((await ops('caption/vision')).filter((o) => o === TurboMerge)).toHaveLength(4);
    expect((await ops('caption/decoder')).filter((o) => o === TurboDropTokens)).toHaveLength(2);
    expect((await ops('vqa/answer')).some((o) => o === TurboDropTokens || o === TurboMerge)).toBe(false);
    expect(fs.readdirSync(out).sort()).toEqual(['caption', 'config.json', 'retrieval', 'tokenizer.json', 'vqa']);

    // The pipelines run on the converted directory.
    const cap = await loadBlip(out, 'caption');
    const c = await caption(cap, fixtureImages()[0], { beams: 3, maxLength: 8 });
    expect(c.ids[0]).toBe(cap.config.bosId);
    expect(c.ids.length).toBeLessThanOrEqual(8);
    cap.dispose();
    const vqa = await loadBlip(out, 'vqa');
    const a = await answer(vqa, fixtureImages()[1], 'how many animals are there?', { maxLength: 6 });
    expect(a.ids[0]).toBe(vqa.config.bosId);
    vqa.dispose();
  });

  it('retrieval with vision Turbo only gives the ITM scores the numpy reference computes from the merged tokens', async () => {
    const out = path.join(tmp, 'vision-only');
    await convertBlipWithTurbo(BLIP_SMALL, out, { vision: { r: 8, alpha: 5, rThreshold: 0 }, text: false, tasks: ['retrieval'] });
    const ref = readJson<{ results: { config: { r: number; rThreshold?: number }; itm_logits_pairs?: ArrayData }[] }>('vision-turbo-reference.json').results.find(
      (r) => r.config.r === 8 && !r.config.rThreshold,
    )!;
    const model = await loadBlip(out, 'retrieval');
    const ranked = await retrieve(model, fixtureImages(), texts, { k: 3 });
    const logits = flat(ref.itm_logits_pairs!);
    const expected = fixtureImages().map((_, i) =>
      texts.map((_, j) => {
        const [a, b] = [logits[(i * 3 + j) * 2], logits[(i * 3 + j) * 2 + 1]];
        return 1 / (1 + Math.exp(a - b));
      }),
    );
    for (const [i, list] of ranked.entries()) {
      expect(list).toHaveLength(3);
      const got = texts.map((_, j) => list.find((r) => r.text === j)!.itm);
      expect(maxDiff(got, expected[i])).toBeLessThan(2e-3);
      expect(list.map((r) => r.itm)).toEqual([...list.map((r) => r.itm)].sort((x, y) => y - x));
    }
    model.dispose();
  });

  it('refuses the input as output, keeps an existing directory without --force, replaces a BLIP directory with it', async () => {
    await expect(convertBlipWithTurbo(BLIP_SMALL, path.join(BLIP_SMALL, 'out'))).rejects.toThrow(/out: output directory is inside the input model directory/);
    const out = path.join(tmp, 'existing');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    await expect(convertBlipWithTurbo(BLIP_SMALL, out, { force: true, tasks: ['caption'] })).rejects.toThrow(/existing: holds no config.json; --force replaces only a directory holding a BLIP model/);
    expect(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8')).toBe('mine');
    const blipOut = path.join(tmp, 'blip-out');
    await convertBlipWithTurbo(BLIP_SMALL, blipOut, { tasks: ['caption'] });
    await expect(convertBlipWithTurbo(BLIP_SMALL, blipOut, { tasks: ['caption'] })).rejects.toThrow(/exists/);
    await convertBlipWithTurbo(BLIP_SMALL, blipOut, { tasks: ['caption'], force: true, text: false });
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // A folder of someone's files under a task name is not a BLIP model.
    const lookalike = path.join(tmp, 'lookalike');
    fs.mkdirSync(path.join(lookalike, 'caption'), { recursive: true });
    fs.copyFileSync(path.join(BLIP_SMALL, 'config.json'), path.join(lookalike, 'config.json'));
    fs.writeFileSync(path.join(lookalike, 'caption', 'holiday.jpg'), 'photo');
    await expect(convertBlipWithTurbo(BLIP_SMALL, lookalike, { force: true, tasks: ['caption'] })).rejects.toThrow(/holds 'caption\/holiday\.jpg', which is not part of a BLIP model directory/);
    expect(fs.readFileSync(path.join(lookalike, 'caption', 'holiday.jpg'), 'utf8')).toBe('photo');
  });

  it('unset vision options keep the BLIP defaults per task (r 30, alpha 5, r_threshold 100 retrieval / 40 caption); a Turbo vision graph is not converted twice', async () => {
    const out = path.join(tmp, 'defaults');
    await convertBlipWithTurbo(BLIP_SMALL, out, { vision: { r: undefined, alpha: undefined, rThreshold: undefined }, text: false });
    for (const [task, threshold] of [['retrieval', 100], ['caption', 40], ['vqa', 40]] as const) {
      const merges = (await readGraphModel(path.join(out, task, 'vision'))).nodes.filter((n) => n.op === TurboMerge);
      expect(merges.map((n) => [Number(n.attr?.r?.i), n.attr?.alpha?.f, Number(n.attr?.r_threshold?.i)])).toEqual(new Array(4).fill([30, 5, threshold]));
    }
    await expect(convertBlipWithTurbo(out, path.join(tmp, 'twice'), { text: false })).rejects.toThrow(/retrieval\/vision\/model\.json: already converted with Turbo/);
  });

  it('the CLI converts and captions', async () => {
    const out = path.join(tmp, 'cli');
    let stdout = '';
    const io = { err: (s: string) => (stdout += s) };
    expect(await runProgram(buildProgram((s) => (stdout += s)), ['convert', BLIP_SMALL, out, '--r', '8', '--drop-rate', '0.1'], io)).toBe(0);
    expect(stdout).toMatch(/caption\/decoder: image-token dropping in 3 cross-attention layers/);
    expect(stdout).toMatch(/drop_rate=0\.1 drop_max=0\.8/);
    expect(await runProgram(buildProgram((s) => (stdout += s)), ['convert', BLIP_SMALL, out], io)).toBe(1);
  });

  // The merges themselves are checked against the official PiToMe/MCTF code on the BLIP vision
  // fixture (spec/hf/scores.spec.ts); here, that the CLI's choices reach every vision graph.
  it('--score, --merge and --tau reach every vision encoder: PiToMe margins 0.9 − 0.8·i/L, MCTF temperatures, MLERP', async () => {
    const run = async (name: string, args: string[]) => {
      let stdout = '';
      const code = await runProgram(buildProgram((s) => (stdout += s)), ['convert', BLIP_SMALL, path.join(tmp, name), '--r', '8', '--no-text-drop', ...args], { err: (s) => (stdout += s) });
      return { code, stdout };
    };
    const attrs = async (name: string, task: string) =>
      (await readGraphModel(path.join(tmp, name, task, 'vision'))).nodes.filter((n) => n.op === TurboMerge).map((n) => n.attr ?? {});

    const pitome = await run('pitome', ['--score', 'pitome', '--merge', 'mlerp']);
    expect(pitome.code).toBe(0);
    expect(pitome.stdout).toMatch(/score=pitome merge=mlerp/);
    for (const task of ['retrieval', 'caption', 'vqa']) {
      const merges = await attrs('pitome', task);
      expect(merges).toHaveLength(4);
      merges.forEach((a, i) => {
        expect([Number(a.score?.i), Number(a.merge_mode?.i)]).toEqual([1, 1]);
        // Block 2's 0.5 is the op's default margin, which graphs leave out.
        expect(a.margin?.f ?? 0.5).toBeCloseTo(0.9 - (0.8 * i) / 4, 6);
      });
    }
    const mctf = await run('mctf', ['--score', 'mctf', '--tau', '2,5,10']);
    expect(mctf.code).toBe(0);
    for (const a of await attrs('mctf', 'caption')) {
      expect([Number(a.score?.i), a.merge_mode, a.tau_sim?.f, a.tau_info?.f, a.tau_size?.f, Number(a.r_threshold?.i)]).toEqual([2, undefined, 2, 5, 10, 40]);
    }
    const meta = JSON.parse(fs.readFileSync(path.join(tmp, 'mctf', 'vqa', 'vision', 'model.json'), 'utf8')).userDefinedMetadata.turbo;
    expect([meta.score, meta.tau]).toEqual(['mctf', { sim: 2, info: 5, size: 10 }]);
    // Temperatures belong to MCTF alone: with another score they would be ignored, so they are refused.
    const refused = await run('tau-turbo', ['--tau', '2,5,10']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/tau.*only MCTF/);
    expect(fs.existsSync(path.join(tmp, 'tau-turbo'))).toBe(false);
  });
});
