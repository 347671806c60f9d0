// ViT-Tiny written as a TensorFlow SavedModel and run by TensorFlow through tfjs-node
// (loadTurboSavedModel): the unmerged model against the tfjs graph model and the official r = 0
// logits. Needs tfjs-node (`npm run setup:native`); without it no case is registered and the
// reason is logged, as for the other tensorflow-backend suites.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { embeddedModelDir } from '../../src/convert';
import { nativeInstalled } from '../helpers/backends';
import { notTested } from '../helpers/required';
import { runInNode } from '../helpers/node_child';
import { argmaxRows, loadVitTinyParity, maxAbsDiff } from '../helpers/parity';
import { SavedModelRunJson } from '../helpers/savedmodel_child';
import { FuseRunJson } from './fuse_child';

const CHILD = path.join(__dirname, '..', 'helpers', 'savedmodel_child.ts');
const FUSE_CHILD = path.join(__dirname, 'fuse_child.ts');
const TFJS_CONVERTER_MODEL = path.join(embeddedModelDir(), '..', 'vit-tiny-patch16-224-tfjs-converter');

if (!nativeInstalled()) {
  notTested('native', 'unmerged ViT-Tiny SavedModels', '@tensorflow/tfjs-node is not installed (npm run setup:native)');
} else {
  const parity = loadVitTinyParity();
  const official = parity.results.find((r) => r.config.r === 0)!;
  let tmp: string;
  beforeAll(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-savedmodel-'))));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe.each([
    ['our safetensors converter', embeddedModelDir()],
    ['tensorflowjs_converter', TFJS_CONVERTER_MODEL],
  ])('unmerged ViT-Tiny from %s as a SavedModel', (_source, dir) => {
    // TensorFlow's defaults (oneDNN graph rewrites on): what users run.
    test('matches the tfjs graph model within 5e-5 and the official r = 0 logits within 1e-4', async () => {
      const run = await runInNode<SavedModelRunJson>(CHILD, 'runSavedModelParity', [dir, path.join(tmp, `${path.basename(dir)}-onednn`), null, true]);
      expect(run.turboOps).toBe(false);
      const vsGraph = maxAbsDiff(run.output, run.graphModelOutput!);
      const vsOfficial = maxAbsDiff(run.output, official.logits.flat());
      console.log(`SavedModel (${path.basename(dir)}, oneDNN on): max abs diff ${vsGraph.toExponential(2)} vs the graph model, ${vsOfficial.toExponential(2)} vs official r = 0`);
      expect(vsGraph).toBeLessThan(5e-5);
      expect(vsOfficial).toBeLessThan(1e-4);
      expect(argmaxRows(run.output, 1000)).toEqual(official.top1);
    });

    // Written unfused, with oneDNN's rewrites off: the same kernels as op by op, so the SavedModel
    // computes exactly what the graph model computes.
    test('unfused (fuse: false), with TF_ENABLE_ONEDNN_OPTS=0, equals the tfjs graph model within 1e-6', async () => {
      const run = await runInNode<FuseRunJson>(FUSE_CHILD, 'runWithFuse', [dir, path.join(tmp, `${path.basename(dir)}-unfused`), false, false]);
      expect(run.ops._MklLayerNorm).toBeUndefined();
      const vsGraph = maxAbsDiff(run.output, run.graphModelOutput);
      console.log(`SavedModel (${path.basename(dir)}, unfused, oneDNN off): max abs diff ${vsGraph.toExponential(2)} vs the graph model`);
      expect(vsGraph).toBeLessThan(1e-6);
      expect(maxAbsDiff(run.output, official.logits.flat())).toBeLessThan(1e-4);
    });

    // The default (fused) SavedModel without oneDNN's rewrites: _MklLayerNorm still runs (its kernel
    // is registered either way), the GELU form stays unfused ops.
    test('fused (the default), with TF_ENABLE_ONEDNN_OPTS=0, matches the tfjs graph model within 5e-5', async () => {
      const run = await runInNode<FuseRunJson>(FUSE_CHILD, 'runWithFuse', [dir, path.join(tmp, `${path.basename(dir)}-fused`), true, false]);
      expect(run.ops._MklLayerNorm).toBe(25);
      const vsGraph = maxAbsDiff(run.output, run.graphModelOutput);
      console.log(`SavedModel (${path.basename(dir)}, fused, oneDNN off): max abs diff ${vsGraph.toExponential(2)} vs the graph model`);
      expect(vsGraph).toBeLessThan(5e-5);
      expect(maxAbsDiff(run.output, official.logits.flat())).toBeLessThan(1e-4);
      expect(argmaxRows(run.output, 1000)).toEqual(official.top1);
    });
  });
}
