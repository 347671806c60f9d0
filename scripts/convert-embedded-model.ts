#!/usr/bin/env node
// Regenerates the embedded default model, models/vit-tiny-patch16-224/, from the real timm
// ViT-Tiny checkpoint in shared/ with our converter. Deterministic: re-running gives identical files.
//
//   node dist/scripts/convert-embedded-model.js [--shared ../shared] [--out models/vit-tiny-patch16-224]

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { CONVERTER_NAME, convertVitCheckpointTo } from '../converters/vit';
import { readVitConfig, tokenCount } from '../converters/vit_config';
import { runCli } from '../src/cli/run';
import { TurboInputError } from '../src/errors';
import { packageRoot } from '../src/paths';

const MODEL = 'vit-tiny-patch16-224';
const COMMAND = 'npx tsc -p tsconfig.json && node dist/scripts/convert-embedded-model.js';

/** The repository root, from src (ts) or dist (compiled) alike. */
async function main(sharedDir: string, outDir: string): Promise<void> {
  const src = path.join(sharedDir, 'models', MODEL);
  const weights = path.join(src, 'model.safetensors');
  const configPath = path.join(src, 'config.json');
  const config = await readVitConfig(configPath);
  const raw = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  if (!raw.preprocessing) throw new TurboInputError(configPath, "missing 'preprocessing'");

  const graph = await convertVitCheckpointTo(weights, configPath, outDir, { overwrite: true, denseBias: 'fused' });
  const classes = path.join(outDir, 'imagenet-classes.txt');
  fs.copyFileSync(path.join(src, 'imagenet-classes.txt'), classes);
  fs.chmodSync(classes, 0o644); // shared/ is read-only; the copy in the tree must not be
  writeJson(path.join(outDir, 'preprocessing.json'), raw.preprocessing);
  writeJson(path.join(outDir, 'meta.json'), {
    name: MODEL,
    variant: raw.variant,
    license: 'Apache-2.0',
    licenseNote: raw.license,
    source: {
      checkpoint: `shared/models/${MODEL}/model.safetensors`,
      sha256: sha256(weights),
      naming: 'timm',
    },
    converter: CONVERTER_NAME,
    command: COMMAND,
    network: { ...config, tokens: tokenCount(config) },
    signature: { inputs: { pixel_values: 'float32 [-1, 3, 224, 224] NCHW, normalised per preprocessing.json' }, outputs: { logits: '[-1, 1000]' } },
    graph: { nodes: graph.nodes.length, weights: graph.weights.size },
    referenceTop1: raw.reference_top1,
  });
  fs.writeFileSync(path.join(outDir, 'README.md'), readme(raw.variant));
  console.log(`wrote ${outDir}: ${graph.nodes.length} nodes, ${graph.weights.size} weights`);
}

function readme(variant: string): string {
  return `# ViT-Tiny/16-224 (ImageNet-1k), tfjs graph model

The embedded default model of tfjs-turbo, ${variant}.
Converted from the timm safetensors checkpoint by our own converter (\`converters/vit.ts\`),
which emits the op patterns of \`tensorflowjs_converter\` output for HF TFViT
(see docs/PYTHON-EXPORT.md).

- Input \`pixel_values\`: float32 \`[-1, 3, 224, 224]\`, NCHW, RGB; resize the shortest side to 248
  (bicubic), center-crop 224, scale to [0, 1], then \`(x - 0.5) / 0.5\` (\`preprocessing.json\`).
- Output \`logits\`: \`[-1, 1000]\`; class names in \`imagenet-classes.txt\` (line i = class i).
- License: Apache-2.0 (timm weights). Source checksum and network shape: \`meta.json\`.

Regenerate (deterministic):

\`\`\`
${COMMAND}
\`\`\`
`;
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

if (require.main === module) {
  const root = packageRoot();
  runCli(
    new Command('convert-embedded-model')
      .description(`Regenerate models/${MODEL} from shared/models/${MODEL}.`)
      .option('--shared <dir>', 'the shared/ directory', path.resolve(root, '..', 'shared'))
      .option('--out <dir>', 'output directory', path.join(root, 'models', MODEL))
      .action((opts: { shared: string; out: string }) => main(opts.shared, opts.out)),
  );
}
