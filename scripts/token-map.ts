// npm run token-map -- [IMAGE] [--out FILE.png] [--r 16] [--alpha 5] [--model TURBO_DIR]
// The merged-token map of one image as a PNG: which patches the Turbo ViT-Tiny merged into the same
// token by the last block (the same drawing as the demo page, src/vis/token_map.ts), beside the
// image itself. Without --model it converts the embedded ViT-Tiny with --r/--alpha first.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { embeddedModelDir, convertWithTurbo } from '../src/convert';
import { preprocessPixels } from '../src/image/preprocessing';
import { readPreprocessing } from '../src/image/preprocess';
import { packageRoot } from '../src/paths';
import { loadTurboModel } from '../src/runtime/load';
import { useBackend } from '../src/runtime/backend';
import { mergeNodeNames, renderTokenMap, tokenGroups } from '../src/vis/token_map';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}

async function main(argv: string[]): Promise<void> {
  const args = [...argv];
  const out = option(args, '--out') ?? path.join(packageRoot(), 'out', 'token-map.png');
  const r = Number(option(args, '--r') ?? 16);
  const alpha = Number(option(args, '--alpha') ?? 5);
  let modelDir = option(args, '--model');
  const image = args[0] ?? path.join(packageRoot(), 'assets', 'hare.jpg');
  let tmp: string | undefined;
  if (!modelDir) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'turbo-map-'));
    modelDir = path.join(tmp, 'turbo');
    await convertWithTurbo(embeddedModelDir(), modelDir, { r, alpha });
  }
  try {
    await useBackend();
    const prep = await readPreprocessing(fs.existsSync(path.join(modelDir, 'preprocessing.json')) ? modelDir : embeddedModelDir());
    const { data, info } = await sharp(image).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const input = preprocessPixels({ data, width: info.width, height: info.height, channels: 3 }, prep);
    const crop = prep.center_crop;
    // The crop's own pixels, back from the normalised input.
    const rgb = new Uint8Array(crop * crop * 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < crop * crop; i++) rgb[i * 3 + c] = Math.round((input[c * crop * crop + i] * prep.std[c] + prep.mean[c]) * 255);

    const modelJson = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
    const merges = mergeNodeNames(modelJson);
    const model = await loadTurboModel(modelDir);
    const x = tf.tensor4d(input, [1, 3, crop, crop]);
    const outs = model.execute({ pixel_values: x }, ['logits', ...merges.map((m) => `${m}:2`)]) as tf.Tensor[];
    const assignments = await Promise.all(outs.slice(1).map((t) => t.data()));
    const top1 = (await tf.argMax(outs[0], 1).data())[0];
    tf.dispose([x, ...outs]);
    const grid = Math.round(Math.sqrt(assignments[0].length - 1));
    const groups = tokenGroups(assignments, assignments[0].length);
    const map = renderTokenMap(rgb, crop, groups, grid);
    const labels = path.join(modelDir, 'imagenet-classes.txt');
    const label = fs.existsSync(labels) ? fs.readFileSync(labels, 'utf8').split('\n')[top1] : `class ${top1}`;

    // The crop and its map side by side, each doubled (nearest) so the patch borders stay sharp.
    const scale = 2;
    const side = (buf: Buffer | Uint8ClampedArray, channels: 3 | 4) =>
      sharp(Buffer.from(buf), { raw: { width: crop, height: crop, channels } }).resize(crop * scale, crop * scale, { kernel: 'nearest' }).png().toBuffer();
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await sharp({ create: { width: crop * scale * 2 + 8, height: crop * scale, channels: 4, background: '#ffffff' } })
      .composite([
        { input: await side(Buffer.from(rgb), 3), left: 0, top: 0 },
        { input: await side(map, 4), left: crop * scale + 8, top: 0 },
      ])
      .png()
      .toFile(out);
    const finalTokens = new Set(groups).size;
    console.log(`${out}: ${grid * grid} patches -> ${finalTokens} tokens after ${merges.length} blocks (r = ${modelJson.userDefinedMetadata.turbo.r}, alpha = ${modelJson.userDefinedMetadata.turbo.alpha}); Turbo top-1: ${label}`);
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`token-map: ${(e as Error).message}`);
  process.exit(1);
});
