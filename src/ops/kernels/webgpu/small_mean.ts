// tfjs-backend-webgpu's Mean gives every output its own 64-invocation workgroup that tree-reduces
// through shared memory with barriers, after transposing the reduced axes innermost. For a mean
// over a few values (Turbo's metric and CLS attention: the mean over H = 3 to 16 heads of
// [B, H, N, d]) that is one workgroup per output element, N·d of them: on SwiftShader, where
// barriers are expensive, ViT-Tiny's 12 metric means cost more than all its merges. This kernel
// reads the reduced axes in place, one invocation per output summing them in order; every other
// Mean goes to tfjs's own kernel.
import { KernelConfig, KernelFunc, Mean, MeanAttrs, MeanInputs, TensorInfo, util } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { TurboWebGPUProgram, Uniforms } from './program';

/** Above this many reduced values per output, tfjs's workgroup reduction is the better program. */
export const SMALL_MEAN_MAX = 16;

/** x viewed as [outer, reduced, inner] → [outer, inner]: the mean over the middle axis. */
class SmallMeanProgram extends TurboWebGPUProgram {
  variableNames = ['x'];
  shaderKey = 'turboSmallMean';
  override uniforms = 'threads : i32, reduced : i32, inner : i32,';
  body(): string {
    return `
      let o = t / uniforms.inner;
      let i = t % uniforms.inner;
      var s = 0.0;
      for (var k = 0; k < uniforms.reduced; k++) {
        s = s + x[(o * uniforms.reduced + k) * uniforms.inner + i];
      }
      result[t] = s / f32(uniforms.reduced);`;
  }
}

/** [outer, reduced, inner] when `axes` are contiguous, float32 and at most SMALL_MEAN_MAX values per output; else undefined. */
export function smallMeanLayout(shape: number[], dtype: string, axes: number[]): [number, number, number] | undefined {
  if (dtype !== 'float32' || axes.length === 0) return undefined;
  const sorted = [...axes].sort((a, b) => a - b);
  if (sorted.some((a, k) => k > 0 && a !== sorted[k - 1] + 1)) return undefined;
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1);
  const reduced = size(shape.slice(first, last + 1));
  const inner = size(shape.slice(last + 1));
  // An innermost reduction needs no transpose in tfjs's kernel; leave it that path.
  if (reduced === 0 || reduced > SMALL_MEAN_MAX || inner === 1) return undefined;
  return [size(shape.slice(0, first)), reduced, inner];
}

/** A Mean kernel for webgpu: small mid-axis means here, the rest through `fallback` (tfjs's kernel). */
export function smallMeanKernel(fallback: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as unknown as MeanInputs & { x: TensorInfo };
    const { axis, keepDims } = attrs as unknown as MeanAttrs;
    const axes = util.parseAxisParam(axis, x.shape);
    const layout = smallMeanLayout(x.shape, x.dtype, axes);
    if (!layout) return fallback.kernelFunc(args);
    const gpu = backend as WebGPUBackend;
    const outShape = x.shape.map((d, k) => (axes.includes(k) ? 1 : d)).filter((_, k) => keepDims || !axes.includes(k));
    const program = new SmallMeanProgram(outShape);
    const uniforms: Uniforms = [{ type: 'int32', data: [program.threads] }, { type: 'int32', data: [layout[1]] }, { type: 'int32', data: [layout[2]] }];
    return gpu.runWebGPUProgram(program, [x], 'float32', uniforms);
  };
  return { kernelName: Mean, backendName: 'webgpu', kernelFunc };
}
