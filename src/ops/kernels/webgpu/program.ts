// What every Turbo WebGPU program shares: a flat dispatch of one invocation per work item (bounded
// by the `threads` uniform, as the backend may reshape a large dispatch into 2-D), and the merge
// plan's scalars as uniforms. Shapes reach the shader only as uniforms (the backend passes each
// buffer's shape; the plan adds N, r, ...), so the shader source and key never contain N and one
// compiled pipeline serves every token count. Types only from tfjs-backend-webgpu: importing it
// would register the backend as a side effect.
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { MergePlan, PLAN_UNIFORMS } from '../merge_plan';

const WORKGROUP = 64;

export type Uniforms = { type: 'int32' | 'float32'; data: number[] }[];

export abstract class TurboWebGPUProgram implements WebGPUProgram {
  abstract variableNames: string[];
  abstract shaderKey: string;
  outputShape: number[];
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  /** The plan's integers, then `threads`, then c: the order of planUniforms(). */
  uniforms = `${PLAN_UNIFORMS.map((u) => `${u} : i32,`).join(' ')} threads : i32, c : f32,`;

  /** Work items: the output's size unless a program computes several outputs per item. */
  readonly threads: number;

  constructor(outputShape: number[], threads = outputShape.reduce((a, b) => a * b, 1)) {
    this.outputShape = outputShape;
    this.threads = threads;
    this.dispatchLayout = { x: outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(threads / WORKGROUP), 1, 1];
  }

  /** The statements of main, with `t` the invocation's work item. */
  abstract body(): string;

  /** Module-scope functions the body calls. */
  helpers(): string {
    return '';
  }

  getUserCode(): string {
    return `
      ${WGSL_HELPERS}
      ${this.helpers()}
      fn main(t : i32) {
        if (t >= uniforms.threads) { return; }
        ${this.body()}
      }`;
  }
}

/** The values for `program`'s uniforms. */
export function planUniforms(plan: MergePlan, program: TurboWebGPUProgram): Uniforms {
  const ints = PLAN_UNIFORMS.map((u) => ({ type: 'int32' as const, data: [plan[u]] }));
  return [...ints, { type: 'int32', data: [program.threads] }, { type: 'float32', data: [plan.c] }];
}

// rankKey maps a score to an unsigned integer with the same order, so the ranking compares
// integers: WGSL lets an implementation assume no NaN or infinity in float arithmetic, integer
// comparisons are exact. NaN ranks as -inf (docs/ALGORITHM.md) and -0 ties with +0, as in the JS
// comparator.
const WGSL_HELPERS = `
  fn rankKey(e : f32) -> u32 {
    var bits = bitcast<u32>(e);
    if ((bits & 0x7fffffffu) > 0x7f800000u) { bits = 0xff800000u; }
    if (bits == 0x80000000u) { bits = 0u; }
    if ((bits & 0x80000000u) != 0u) { return ~bits; }
    return bits | 0x80000000u;
  }
`;
