// Fused webgpu TurboDropTokens: score, rank and gather as WGSL programs, nothing read back. The kept
// count follows from N0 and the attributes (drop_plan.ts), so every output is sized on the host and
// the four programs are enqueued without waiting for the GPU. Sizes reach the shaders as uniforms
// only: one compiled pipeline per program whatever N, T or D.
import { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { TurboDropTokens } from '../../kernel_names';
import { DropPlan, TurboDropTokensKernelAttrs, dropPlan } from '../drop_plan';
import { TurboWebGPUProgram, Uniforms } from './program';

/** The plan's integers every drop program declares, in this order, after `threads`. */
const DROP_UNIFORMS = ['heads', 'textLen', 'rows', 'n', 'channels', 'keep', 'maskBatch'] as const;

abstract class DropProgram extends TurboWebGPUProgram {
  override uniforms = `threads : i32, ${DROP_UNIFORMS.map((u) => `${u} : i32,`).join(' ')}`;
  values(plan: DropPlan): Uniforms {
    return [{ type: 'int32', data: [this.threads] }, ...DROP_UNIFORMS.map((u) => ({ type: 'int32' as const, data: [plan[u]] }))];
  }
}

/** probs [B, H, T, N] → score [B, N]: Σ over heads, then text positions (the first `rows`), in float32, in that order. */
class ScoreProgram extends DropProgram {
  variableNames = ['probs'];
  shaderKey = 'turboDropScore';
  body(): string {
    return `
      let b = t / uniforms.n;
      let i = t % uniforms.n;
      var s = 0.0;
      for (var h = 0; h < uniforms.heads; h++) {
        let row = (b * uniforms.heads + h) * uniforms.textLen;
        for (var q = 0; q < uniforms.rows; q++) {
          s = s + probs[(row + q) * uniforms.n + i];
        }
      }
      result[t] = s;`;
  }
}

/**
 * score → rank [B, N] (int32): how many tokens come before token i, by a larger score or an equal
 * one at a lower index (tf.topk's order). Compared as integer keys from the float bits (rankKey),
 * so the order is exact; NaN ranks as -inf.
 */
class RankProgram extends DropProgram {
  variableNames = ['score'];
  shaderKey = 'turboDropRank';
  body(): string {
    return `
      let b = t / uniforms.n;
      let i = t % uniforms.n;
      let row = b * uniforms.n;
      let ki = rankKey(score[t]);
      var before = 0;
      for (var o = 0; o < uniforms.n; o++) {
        let ko = rankKey(score[row + o]);
        if (ko > ki || (ko == ki && o < i)) { before++; }
      }
      result[t] = before;`;
  }
}

/** rank → kept [B, k] (int32): the token whose rank is j. Ranks are a permutation of 0..N-1, so exactly one matches. */
class KeptProgram extends DropProgram {
  variableNames = ['rank'];
  shaderKey = 'turboDropKept';
  body(): string {
    return `
      let b = t / uniforms.keep;
      let j = t % uniforms.keep;
      var found = 0;
      for (var i = 0; i < uniforms.n; i++) {
        if (rank[b * uniforms.n + i] == j) { found = i; break; }
      }
      result[t] = found;`;
  }
}

/** tokens [B, N, D], kept → [B, k, D]; or, with `mask`, mask [B or 1, …, N], kept → [B, …, k]. */
class GatherProgram extends DropProgram {
  variableNames: string[];
  shaderKey: string;
  constructor(
    outputShape: number[],
    private readonly mask: boolean,
  ) {
    super(outputShape);
    this.variableNames = [mask ? 'mask' : 'tokens', 'kept'];
    this.shaderKey = mask ? 'turboDropGatherMask' : 'turboDropGatherTokens';
  }
  body(): string {
    if (this.mask) {
      return `
        let b = t / uniforms.keep;
        let mb = select(0, b, uniforms.maskBatch > 1);
        result[t] = mask[mb * uniforms.n + kept[t]];`;
    }
    return `
      let C = uniforms.channels;
      let b = t / (uniforms.keep * C);
      let j = (t / C) % uniforms.keep;
      result[t] = tokens[(b * uniforms.n + kept[b * uniforms.keep + j]) * C + t % C];`;
  }
}

const turboDropTokens: KernelFunc = ({ inputs, backend, attrs }) => {
  const gpu = backend as WebGPUBackend;
  const { probs, tokens, mask } = inputs as { probs: TensorInfo; tokens: TensorInfo; mask: TensorInfo };
  const plan = dropPlan(probs.shape, tokens.shape, mask.shape, attrs as unknown as TurboDropTokensKernelAttrs);
  const run = (program: DropProgram, ins: TensorInfo[], dtype: 'float32' | 'int32' | TensorInfo['dtype']) => gpu.runWebGPUProgram(program, ins, dtype, program.values(plan));
  const score = run(new ScoreProgram([plan.batch, plan.n]), [probs], 'float32');
  const rank = run(new RankProgram([plan.batch, plan.n]), [score], 'int32');
  const kept = run(new KeptProgram(plan.keptShape), [rank], 'int32');
  const keptTokens = run(new GatherProgram(plan.tokensShape, false), [tokens, kept], tokens.dtype);
  const keptMask = run(new GatherProgram(plan.maskShape, true), [mask, kept], mask.dtype);
  gpu.disposeData(score.dataId);
  gpu.disposeData(rank.dataId);
  return [keptTokens, keptMask, kept];
};

export const turboDropTokensConfig: KernelConfig = { kernelName: TurboDropTokens, backendName: 'webgpu', kernelFunc: turboDropTokens };
