// Which Turbo ops exist, and which of them each consumer of a graph can run. One place, so an op
// added later (TurboDropTokens came with BLIP) cannot be missed by --strip, isTurboModel, the
// SavedModel writer or the native loader, as it once was by their hand-kept copies.
import { TurboDropTokens, TurboMerge, TurboPropAttnBias, TurboUnmerge } from './kernel_names';

/** Every op a Turbo rewrite (vision merging or BLIP's text-side dropping) adds to a graph. */
export const TURBO_OPS: ReadonlySet<string> = new Set([TurboMerge, TurboPropAttnBias, TurboUnmerge, TurboDropTokens]);

/** The ops native/ registers in TensorFlow (libturbo_ops); the SavedModel writer can emit only these. */
export const NATIVE_TURBO_OPS: ReadonlySet<string> = new Set([TurboMerge, TurboPropAttnBias, TurboUnmerge]);
