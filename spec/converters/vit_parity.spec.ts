// The embedded model (models/vit-tiny-patch16-224, written by our converter from the real timm
// checkpoint) against the official PyTorch logits (vit-tiny-turbo.json results[0], r = 0) on the
// 8 parity images, on cpu and wasm. The model runs in a plain node child: see node_child.ts.

import * as path from 'path';
import { argmaxRows, loadVitTinyParity, maxAbsDiff } from '../helpers/parity';
import { parityLogits } from './embedded_logits';
import { runInNode } from '../helpers/node_child';

const MODEL_DIR = path.resolve(__dirname, '..', '..', 'models', 'vit-tiny-patch16-224');

test.each(['cpu', 'wasm'] as const)('%s: logits match the official PyTorch model within 1e-3, same top-1', async (backend) => {
  const expected = loadVitTinyParity().results[0];
  expect(expected.config).toEqual({ r: 0, alpha: 0 });
  const run = await runInNode<Awaited<ReturnType<typeof parityLogits>>>(path.join(__dirname, 'embedded_logits.ts'), 'parityLogits', [backend, MODEL_DIR]);
  expect(run.shape).toEqual([8, 1000]);
  const diff = maxAbsDiff(run.logits, expected.logits.flat());
  console.log(`${backend}: max abs diff vs PyTorch ${diff.toExponential(2)}`);
  expect(diff).toBeLessThan(1e-3);
  expect(argmaxRows(run.logits, 1000)).toEqual(expected.top1);
}, 300_000);
