// Fused webgl TurboDropTokens: score, rank and gather as GLSL programs, nothing read back (the
// composite's tf.topk reads the scores back on webgl). The kept count follows from N0 and the
// attributes (drop_plan.ts), so every output is sized on the host. Sizes are uniforms (shape
// uniforms and the plan's integers), so each program compiles once whatever N, T or D. Needs
// WebGL 2 (integer ops, floatBitsToUint, loops bounded by uniforms); on WebGL 1 the composite runs.
// Int32 results live in float textures: exact integers below 2^24, read back with int().
import * as tf from '@tensorflow/tfjs-core';
import type { GPGPUProgram, MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import { TurboDropTokens } from '../../kernel_names';
import { turboDropTokensKernel } from '../composite/TurboDropTokens';
import { DropPlan, TurboDropTokensKernelAttrs, dropPlan } from '../drop_plan';
import { GLSL_RANK_KEY } from './program';
import { withUnpacked } from './unpack';

type CustomUniform = NonNullable<GPGPUProgram['customUniforms']>[number];

/** The plan's integers as GLSL uniforms; a prefix keeps them clear of tfjs's own shader names. */
const DROP_UNIFORMS = ['heads', 'textLen', 'rows', 'n', 'channels', 'keep', 'maskBatch'] as const;
const [HEADS, ROWS, N, MASK_BATCH] = ['heads', 'rows', 'n', 'maskBatch'].map((u) => `turbo_${u}`);

abstract class DropProgram implements GPGPUProgram {
  abstract variableNames: string[];
  abstract userCode: string;
  enableShapeUniforms = true;
  customUniforms: CustomUniform[] = DROP_UNIFORMS.map((u) => ({ name: `turbo_${u}`, type: 'int' as const }));
  constructor(public outputShape: number[]) {}
  values(plan: DropPlan): number[][] {
    return DROP_UNIFORMS.map((u) => [plan[u]]);
  }
}

/** probs [B, H, T, N] → score [B, N]: Σ over heads, then text positions (the first `rows`), in float32, in that order. */
class ScoreProgram extends DropProgram {
  variableNames = ['probs'];
  userCode = `
    void main() {
      ivec2 at = getOutputCoords();
      float s = 0.0;
      for (int h = 0; h < ${HEADS}; h++) {
        for (int q = 0; q < ${ROWS}; q++) s += getProbs(at.x, h, q, at.y);
      }
      setOutput(s);
    }`;
}

/**
 * score → rank [B, N]: how many tokens come before token i, by a larger score or an equal one at a
 * lower index (tf.topk's order), compared as integer keys from the float bits (exact whatever the
 * driver does with NaN or infinities in float comparisons, program.ts's rankKey, the merge's too).
 */
class RankProgram extends DropProgram {
  variableNames = ['score'];
  userCode = `
    ${GLSL_RANK_KEY}
    void main() {
      ivec2 at = getOutputCoords();
      uint ki = rankKey(getScore(at.x, at.y));
      int before = 0;
      for (int o = 0; o < ${N}; o++) {
        uint ko = rankKey(getScore(at.x, o));
        if (ko > ki || (ko == ki && o < at.y)) before++;
      }
      setOutput(float(before));
    }`;
}

/** rank → kept [B, k]: the token whose rank is j. Ranks are a permutation of 0..N-1, so exactly one matches. */
class KeptProgram extends DropProgram {
  variableNames = ['rank'];
  userCode = `
    void main() {
      ivec2 at = getOutputCoords();
      int found = 0;
      for (int i = 0; i < ${N}; i++) {
        if (int(getRank(at.x, i)) == at.y) { found = i; break; }
      }
      setOutput(float(found));
    }`;
}

/** tokens [B, N, D], kept → [B, k, D]. */
class GatherTokensProgram extends DropProgram {
  variableNames = ['tokens', 'kept'];
  userCode = `
    void main() {
      ivec3 at = getOutputCoords();
      setOutput(getTokens(at.x, int(getKept(at.x, at.y)), at.z));
    }`;
}

/** mask [B or 1, 1, ..., 1, N], kept → [B, 1, ..., 1, k]; the rank is part of the source (not a size). */
class GatherMaskProgram extends DropProgram {
  variableNames = ['mask', 'kept'];
  userCode: string;
  constructor(outputShape: number[]) {
    super(outputShape);
    const rank = outputShape.length;
    const coords = rank === 2 ? 'ivec2' : `ivec${rank}`;
    const last = ['x', 'y', 'z', 'w'][rank - 1];
    const zeros = Array(rank - 2).fill('0');
    this.userCode = `
      void main() {
        ${coords} at = getOutputCoords();
        int b = ${MASK_BATCH} > 1 ? at.x : 0;
        setOutput(getMask(${['b', ...zeros, `int(getKept(at.x, at.${last}))`].join(', ')}));
      }`;
  }
}

const turboDropTokens: tf.KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { probs, tokens, mask } = inputs as { probs: tf.TensorInfo; tokens: tf.TensorInfo; mask: tf.TensorInfo };
  // getOutputCoords and the samplers cover ranks up to 4 here.
  if (tf.env().getNumber('WEBGL_VERSION') < 2 || mask.shape.length > 4) return turboDropTokensKernel.kernelFunc(args);
  const gl = backend as MathBackendWebGL;
  const plan = dropPlan(probs.shape, tokens.shape, mask.shape, attrs as unknown as TurboDropTokensKernelAttrs);
  return withUnpacked(gl, [probs, tokens, mask], ([p, t, m]) => {
    const run = (program: DropProgram, ins: tf.TensorInfo[], dtype: tf.DataType) => gl.runWebGLProgram(program, ins, dtype, program.values(plan));
    const score = run(new ScoreProgram([plan.batch, plan.n]), [p], 'float32');
    const rank = run(new RankProgram([plan.batch, plan.n]), [score], 'int32');
    const kept = run(new KeptProgram(plan.keptShape), [rank], 'int32');
    const keptTokens = run(new GatherTokensProgram(plan.tokensShape), [t, kept], tokens.dtype);
    const keptMask = run(new GatherMaskProgram(plan.maskShape), [m, kept], mask.dtype);
    gl.disposeIntermediateTensorInfo(score);
    gl.disposeIntermediateTensorInfo(rank);
    return [keptTokens, keptMask, kept];
  });
};

export const turboDropTokensConfig: tf.KernelConfig = { kernelName: TurboDropTokens, backendName: 'webgl', kernelFunc: turboDropTokens };
