// What every Turbo WebGL program shares: shape uniforms on (enableShapeUniforms, off by default in
// tfjs 4.22, where shapes would be baked into the source and every token count would compile its
// own shader), the merge plan's scalars as custom uniforms, and GLSL helpers. Each fragment writes
// one output element. Types only from tfjs-backend-webgl: importing it would register the backend.
import type { GPGPUProgram } from '@tensorflow/tfjs-backend-webgl';
import { MergePlan, PLAN_UNIFORMS } from '../merge_plan';

type CustomUniform = NonNullable<GPGPUProgram['customUniforms']>[number];

/** GLSL name of a plan scalar: a prefix keeps them clear of tfjs's own shader names. */
export const glslName = (u: string) => `turbo_${u}`;

const PLAN_DECLS: CustomUniform[] = [...PLAN_UNIFORMS.map((u) => ({ name: glslName(u), type: 'int' as const })), { name: glslName('c'), type: 'float' }];

export abstract class TurboWebGLProgram implements GPGPUProgram {
  abstract variableNames: string[];
  outputShape: number[];
  enableShapeUniforms = true;
  customUniforms: CustomUniform[] = PLAN_DECLS;

  constructor(outputShape: number[]) {
    this.outputShape = outputShape;
  }

  /** A getter, so subclasses' fields are set when it is built. */
  get userCode(): string {
    return `${GLSL_HELPERS}\n${this.helpers()}\n${this.main()}`;
  }

  /** `void main()`: reads getOutputCoords(), calls setOutput once. */
  protected abstract main(): string;

  protected helpers(): string {
    return '';
  }
}

/** The values for a program's customUniforms, in PLAN_DECLS's order. */
export function planUniformValues(plan: MergePlan): number[][] {
  return [...PLAN_UNIFORMS.map((u) => [plan[u]]), [plan.c]];
}

// rankKey maps a score to an unsigned integer with the same order, so the ranking compares
// integers exactly whatever the driver does with NaN and infinities in float comparisons. NaN
// ranks as -inf (docs/ALGORITHM.md), -0 ties with +0, as in the JS comparator.
export const GLSL_RANK_KEY = `
  uint rankKey(float e) {
    uint bits = floatBitsToUint(e);
    if ((bits & 0x7fffffffu) > 0x7f800000u) bits = 0xff800000u;
    if (bits == 0x80000000u) bits = 0u;
    return (bits & 0x80000000u) != 0u ? ~bits : (bits | 0x80000000u);
  }
`;

const GLSL_HELPERS = `
  bool turboIsNan(float v) { return (floatBitsToUint(v) & 0x7fffffffu) > 0x7f800000u; }
${GLSL_RANK_KEY}`;
