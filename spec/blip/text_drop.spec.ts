// BLIP's text-side image-token dropping, inserted by the rewriting pass into the exported
// cross-attention graphs (ITM, caption decoder, VQA question encoder), against the independent
// Python reference (text-drop-reference.json: HF's TF layers run one by one, ranking in numpy):
// the kept image tokens per layer, in order, and the outputs with dropping.
import * as fsp from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { graphToArtifacts, readGraphModel, readModelJsonOnly, writeGraphModel } from '../../src/graph/model_io';
import { stripTurboModel } from '../../src/convert';
import { describeTurbo, isTurboModel } from '../../src/rewrite/strip';
import { encodeSavedModel } from '../../src/savedmodel/write';
import { registerTurboOps } from '../../src/ops/register';
import { applyTextDrop } from '../../src/rewrite/text_drop';
import { findCrossAttention } from '../../src/rewrite/cross_attention';
import { IMAGE_CROSS_ATTENTION_GRAPHS, runGraph } from '../../src/blip/model';
import { describeBackends } from '../helpers/backends';
import { ArrayData, BLIP_SMALL, GraphReference, flat, maxDiff, readJson, toTensor } from './blip_fixture';

const TOL_TF = 1e-4;
const graphs = readJson<{ graphs: Record<string, GraphReference> }>('reference.json').graphs;

interface DropResult {
  setting: { dropRate: number; dropMax: number; rank: 'all' | 'first' };
  keptIndices: number[][][];
  outputs: Record<string, ArrayData>;
}
const dropRef = readJson<{ inputs: Record<string, { graph: string; case: string }>; results: Record<string, Record<string, DropResult>> }>('text-drop-reference.json');

/** The reference's outputs that the graph itself produces (the VQA answer-decoder logits are a separate graph). */
const GRAPH_OUTPUT: Record<string, string> = { itm: 'itm_logits', caption_decoder: 'logits', vqa_question: 'question_embeds' };

describe('cross-attention matching on the exported graphs', () => {
  for (const { graph } of Object.values(dropRef.inputs)) {
    it(`${graph}: every text layer's cross-attention found, self-attention told apart`, async () => {
      const g = await readGraphModel(path.join(BLIP_SMALL, graph));
      const report = findCrossAttention(g);
      expect(report.layers).toHaveLength(3);
      expect(report.selfAttention).toBe(3);
      expect(report.rejected).toEqual([]);
      expect(new Set(report.layers.map((l) => l.tokensRef)).size).toBe(1);
    });
  }

  it('a vision graph (fused q/k/v) has no cross-attention, and the pass says which Softmax failed where', async () => {
    const g = await readGraphModel(path.join(BLIP_SMALL, 'retrieval', 'vision'));
    expect(findCrossAttention(g).layers).toHaveLength(0);
    expect(() => applyTextDrop(g, {}, 'vision/model.json')).toThrow(/^vision\/model\.json: no cross-attention to image tokens found \(0 self-attention layers\); .*Softmax: q\/k\/v are not dense projections/);
  });
});

describeBackends('text-side dropping vs the Python reference', () => {
  beforeAll(async () => {
    registerTurboOps();
  });

  for (const [key, settings] of Object.entries(dropRef.results)) {
    const { graph: graphName, case: caseName } = dropRef.inputs[key];
    for (const [settingName, ref] of Object.entries(settings)) {
      it(`${graphName} ${settingName}: same kept tokens per layer, outputs within ${TOL_TF}`, async () => {
        const graph = await readGraphModel(path.join(BLIP_SMALL, graphName));
        const { dropNodes } = applyTextDrop(graph, {
          dropRate: ref.setting.dropRate,
          dropMax: ref.setting.dropMax,
          firstTokenOnly: ref.setting.rank === 'first',
        });
        expect(dropNodes).toHaveLength(2);
        const model = await loadGraphModel(tf.io.fromMemory(graphToArtifacts(graph)));
        const c = graphs[graphName].cases[caseName];
        const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, toTensor(v)]));
        const output = GRAPH_OUTPUT[key];
        const outs = await runGraph(model, feeds, [output, ...dropNodes.map((n) => `${n}:2`)]);
        // Kept indices into each layer's own order, composed back to the original image-token order.
        let order: number[][] | undefined;
        for (const [layer, kept] of outs.slice(1).entries()) {
          const rows = (await kept.array()) as number[][];
          order = rows.map((row, b) => row.map((i) => (order ? order[b][i] : i)));
          expect(order).toEqual(ref.keptIndices[layer]);
        }
        expect(outs[0].shape).toEqual(ref.outputs[output].shape);
        expect(maxDiff(await outs[0].data(), flat(ref.outputs[output]))).toBeLessThan(TOL_TF);
        tf.dispose([...outs, ...Object.values(feeds)]);
        model.dispose();
      });
    }
  }
});

describe('full-size BLIP topologies (model.json without shards)', () => {
  const FULL = path.join(BLIP_SMALL, '..', 'full');
  for (const graph of ['retrieval/itm', 'caption/decoder', 'vqa/question']) {
    it(`${graph}: 12 cross-attention layers found and 11 drop nodes inserted`, async () => {
      const g = await readModelJsonOnly(path.join(FULL, graph, 'model.json'));
      expect(findCrossAttention(g).layers).toHaveLength(12);
      expect(applyTextDrop(g).dropNodes).toHaveLength(11);
    });
  }
  it('retrieval/text (the ITC text encoder) has no cross-attention', async () => {
    const g = await readModelJsonOnly(path.join(FULL, 'retrieval/text', 'model.json'));
    expect(findCrossAttention(g).layers).toHaveLength(0);
  });
  it('vqa/answer cross-attends to the question, not the image: found by the matcher, left alone by the BLIP conversion', async () => {
    const g = await readModelJsonOnly(path.join(FULL, 'vqa/answer', 'model.json'));
    expect(findCrossAttention(g).layers.map((l) => l.tokensRef)).toEqual(new Array(12).fill('question_embeds'));
    expect(IMAGE_CROSS_ATTENTION_GRAPHS).not.toContain('vqa/answer');
  });
});

describe('text-side dropping is a journaled Turbo rewrite (issue 26, item 5)', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'turbo-text-drop-'));
  });
  afterAll(async () => {
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  /** Every file of a graph-model directory, by name, as bytes. */
  const filesOf = async (dir: string) => Object.fromEntries(await Promise.all((await fsp.readdir(dir)).sort().map(async (f) => [f, await fsp.readFile(path.join(dir, f))] as const)));

  it.each(IMAGE_CROSS_ATTENTION_GRAPHS)('%s: --strip gives back the original directory byte for byte', async (name) => {
    const original = path.join(BLIP_SMALL, name);
    const dropped = path.join(tmp, `${name.replace('/', '_')}-drop`);
    const stripped = path.join(tmp, `${name.replace('/', '_')}-stripped`);
    const graph = await readGraphModel(original);
    applyTextDrop(graph, { dropRate: 0.3 });
    await writeGraphModel(graph, dropped);
    const written = await readGraphModel(dropped);
    expect(isTurboModel(written)).toBe(true);
    expect(describeTurbo(written)).toBe('text-side drop_rate=0.3, drop_max=0.8');
    await stripTurboModel(dropped, stripped);
    const [want, got] = await Promise.all([filesOf(original), filesOf(stripped)]);
    expect(Object.keys(got)).toEqual(Object.keys(want));
    for (const f of Object.keys(want)) expect({ f, same: got[f].equals(want[f]) }).toEqual({ f, same: true });
  });

  it('a text-drop graph is refused for a second drop and for the vision rewrite; the SavedModel writer names the op it cannot write', async () => {
    const graph = await readGraphModel(path.join(BLIP_SMALL, 'caption', 'decoder'));
    applyTextDrop(graph);
    expect(() => applyTextDrop(graph, {}, 'd/model.json')).toThrow(/^d\/model\.json: already has text-side token dropping$/);
    expect(() => encodeSavedModel(graph, 'd/model.json')).toThrow(/^d\/model\.json: node '.*turbo_drop' runs TurboDropTokens, which has no TensorFlow kernel/);
  });
});
