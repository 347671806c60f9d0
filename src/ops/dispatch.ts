// The one fused-or-composite dispatch: an op runs its kernel where one is registered for the
// active backend (cpu, wasm, tensorflow), and its composite of tfjs ops everywhere else.
import * as tf from '@tensorflow/tfjs-core';

export function hasFusedKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}

/** The registered kernel's outputs, or `composite()` where the active backend has none. */
export function fusedOrComposite<T>(kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap, composite: () => T): T {
  if (!hasFusedKernel(kernelName)) return composite();
  return tf.engine().runKernel(kernelName, inputs, attrs) as unknown as T;
}
