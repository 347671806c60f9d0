// Every Turbo op runs through tfjs's kernel registry (ENGINE.runKernel), so the kernel registered
// for the active backend decides how: fused, composite, or one an app registered itself.
import * as tf from '@tensorflow/tfjs-core';
import { registerTurboKernels } from './kernel_registry';

export function runTurboKernel(kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor | tf.Tensor[] {
  const backend = tf.getBackend();
  // A backend registered after tfjs-turbo's registration has no Turbo kernel yet.
  if (!tf.getKernel(kernelName, backend)) registerTurboKernels(backend);
  return tf.engine().runKernel(kernelName, inputs, attrs) as tf.Tensor | tf.Tensor[];
}
