// Turbo's WebGL programs read unpacked textures. tfjs unpacks a packed input (the usual layout of a
// matmul or reshape output) with its own UnpackProgram, whose shapes are baked into the source
// unless WEBGL_USE_SHAPES_UNIFORMS is set: one more compile per token count. This unpack is the
// same program with shape uniforms, so it compiles once.
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { GPGPUProgram, MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';

const CHANNELS = ['rc.x', 'rc.y', 'rc.z', 'rc.w'];

class UnpackProgram implements GPGPUProgram {
  variableNames = ['A'];
  packedInputs = true;
  packedOutput = false;
  enableShapeUniforms = true;
  userCode: string;
  constructor(public outputShape: number[]) {
    const rank = outputShape.length;
    const ch = rank === 1 ? ['rc'] : CHANNELS.slice(0, rank);
    const coords = rank === 1 ? 'rc' : `vec2(${ch.slice(-2).join(', ')})`;
    this.userCode = `
      void main() {
        ${rank === 1 ? 'int' : `ivec${rank}`} rc = getOutputCoords();
        vec4 packedInput = getA(${ch.join(', ')});
        setOutput(getChannel(packedInput, ${coords}));
      }`;
  }
}

/** Runs `f` on `inputs` with every packed one unpacked (ranks 1 to 4); the unpacked copies are freed after. */
export function withUnpacked<T>(gl: MathBackendWebGL, inputs: TensorInfo[], f: (unpacked: TensorInfo[]) => T): T {
  const temps: TensorInfo[] = [];
  const unpacked = inputs.map((t) => {
    if (!gl.texData.get(t.dataId)?.isPacked || t.shape.length > 4) return t;
    const u = gl.runWebGLProgram(new UnpackProgram(t.shape), [t], t.dtype);
    temps.push(u);
    return u;
  });
  try {
    return f(unpacked);
  } finally {
    for (const t of temps) gl.disposeIntermediateTensorInfo(t);
  }
}
