// Turbo's tfjs env() flags (tfjs-core's flags.ts convention), registered on import. Set them with
// tf.env().set(name, value), or in a page URL with ?tfjsflags=TURBO_COMPOSITE_MATCHING:device.
import { env } from '@tensorflow/tfjs-core';

/**
 * How the composite TurboMerge kernel (the one backends without a fused kernel run) matches tokens.
 * 'readback': on the CPU after reading metric and clsAttn back (a sort in JS; cheap where tensors
 * live in CPU memory). 'device': with tfjs ops on the backend, no read-back
 * (src/ops/kernels/composite/merge_on_device.ts). 'auto' (default): 'readback' on every backend:
 * measured in headless Chromium on SwiftShader (docs/BENCHMARKS.md, bench-browser), the on-device
 * matching was 11x slower warm on webgl and 3 % slower on webgpu. A real GPU pays more for the
 * read-back stall; 'device' is there to try it. Fused kernels ignore it.
 */
export type CompositeMatching = 'auto' | 'device' | 'readback';

export const COMPOSITE_MATCHING_FLAG = 'TURBO_COMPOSITE_MATCHING';

const MODES: readonly unknown[] = ['auto', 'device', 'readback'] satisfies CompositeMatching[];

function isMode(value: unknown): value is CompositeMatching {
  return MODES.includes(value);
}

function checkMode(value: unknown): CompositeMatching {
  if (!isMode(value)) throw new Error(`${COMPOSITE_MATCHING_FLAG} must be 'auto', 'device' or 'readback', got ${String(value)}`);
  return value;
}

let lastValid: CompositeMatching = 'auto';

env().registerFlag(
  COMPOSITE_MATCHING_FLAG,
  () => 'auto',
  (value) => {
    // tfjs stores the value before this hook runs: put the last valid one back, so a typo throws
    // here instead of at the next merge.
    if (!isMode(value)) {
      env().set(COMPOSITE_MATCHING_FLAG, lastValid);
      checkMode(value);
    }
    lastValid = checkMode(value);
  },
);

export function compositeMatching(): CompositeMatching {
  return checkMode(env().get(COMPOSITE_MATCHING_FLAG));
}

/**
 * @deprecated Set the flag instead: `tf.env().set('TURBO_COMPOSITE_MATCHING', mode)`. Kept for
 * callers of tfjs-turbo 0.1; returns the previous mode.
 */
export function setCompositeMatching(mode: CompositeMatching): CompositeMatching {
  const previous = compositeMatching();
  env().set(COMPOSITE_MATCHING_FLAG, mode);
  return previous;
}
