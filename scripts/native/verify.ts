// The last step of setup:native: load the package in a fresh node and run one op on it. Also
// checks that it shares the project's tfjs-core (two copies would register the 'tensorflow'
// backend on an engine the rest of the project never sees).

import { VariantPin } from './pins';
import { capture, SetupError } from './proc';

export async function verifyNative(root: string, pin: VariantPin): Promise<string> {
  const code = `
const path = require('path');
const pkgCore = require.resolve('@tensorflow/tfjs-core', { paths: [path.dirname(require.resolve(${JSON.stringify(pin.npmPackage)}))] });
const ourCore = require.resolve('@tensorflow/tfjs-core');
if (pkgCore !== ourCore) throw new Error('it brought its own tfjs-core (' + pkgCore + '), not the project\\'s ' + ourCore);
require(${JSON.stringify(pin.npmPackage)});
const tf = require('@tensorflow/tfjs-core');
tf.setBackend('tensorflow').then(() => {
  const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[1], [1]])).dataSync();
  if (tf.getBackend() !== 'tensorflow' || y[0] !== 3 || y[1] !== 7) throw new Error('wrong result ' + Array.from(y));
  console.log('backend ' + tf.getBackend() + ', TensorFlow ' + tf.backend().binding.TF_Version);
});`;
  const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' };
  const out = await capture(process.execPath, ['-e', code], `${pin.npmPackage} is installed but does not work`, { cwd: root, env });
  return out.trim();
}
