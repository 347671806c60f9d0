#!/usr/bin/env node
// convert-vit-checkpoint WEIGHTS.safetensors CONFIG.json OUT_DIR: a timm or HF ViT checkpoint -> tfjs graph model
// that convert-with-turbo can rewrite.

import * as fs from 'fs';
import { Command } from 'commander';
import { runCli } from '../src/cli/run';
import { TurboInputError } from '../src/errors';
import { convertVitCheckpointTo } from './vit';

export function buildProgram(log: (s: string) => void = console.log): Command {
  return new Command('convert-vit-checkpoint')
    .description('Convert a ViT checkpoint (safetensors, timm or HF transformers names) into a tfjs graph model.')
    .argument('<WEIGHTS>', 'model.safetensors (PyTorch layout)')
    .argument('<CONFIG>', 'config.json (image_size, patch_size, hidden_size, num_layers, num_heads, mlp_size, num_classes, layer_norm_eps)')
    .argument('<OUT_DIR>', 'output directory for model.json and weight shards')
    .option('--force', 'replace OUT_DIR if it exists')
    .option('--dense-bias <form>', "dense bias as 'fused' (_FusedMatMul, faster) or 'separate' (MatMul + BiasAdd, as tensorflowjs_converter)", 'fused')
    .action(async (weights: string, config: string, outDir: string, opts: { force?: boolean; denseBias: string }) => {
      if (opts.denseBias !== 'fused' && opts.denseBias !== 'separate') {
        throw new TurboInputError('--dense-bias', `'${opts.denseBias}' is not 'fused' or 'separate'`);
      }
      // Checked before the (slow) conversion, so a mistake costs nothing.
      if (fs.existsSync(outDir) && !opts.force) throw new TurboInputError(outDir, 'already exists (use --force to replace it)');
      const graph = await convertVitCheckpointTo(weights, config, outDir, { overwrite: !!opts.force, denseBias: opts.denseBias });
      const sig = graph.modelJson.signature?.outputs?.logits?.tensorShape?.dim?.map((d) => d.size).join(', ');
      log(`wrote ${outDir}: ${graph.nodes.length} nodes, ${graph.weights.size} weights, logits [${sig}]`);
    });
}

if (require.main === module) runCli(buildProgram());
