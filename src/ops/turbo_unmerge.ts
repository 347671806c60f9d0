// turboUnmerge: the generation (ToMe-SD) variant's inverse of a merge. Every input token gets the
// row of the output token it was merged into, restoring the token count and order.
import * as tf from '@tensorflow/tfjs-core';
import { TurboUnmerge } from './kernel_names';
import { runTurboKernel } from './run_kernel';

/** y [B, N', C] and the assignment [B, N] from turboMerge → [B, N, C]. */
export function turboUnmerge(y: tf.Tensor, assignment: tf.Tensor): tf.Tensor3D {
  if (y.rank !== 3) throw new Error(`turboUnmerge: y must be rank 3 [B, N', C], got shape [${y.shape}]`);
  if (assignment.rank !== 2) throw new Error(`turboUnmerge: assignment must be rank 2 [B, N], got shape [${assignment.shape}]`);
  if (assignment.dtype !== 'int32') throw new Error(`turboUnmerge: assignment must be int32, got ${assignment.dtype}`);
  if (assignment.shape[0] !== y.shape[0]) {
    throw new Error(`turboUnmerge: assignment batch ${assignment.shape[0]} does not match y batch ${y.shape[0]}`);
  }
  return runTurboKernel(TurboUnmerge, { y, assignment }) as tf.Tensor3D;
}
