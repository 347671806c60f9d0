// What `npm run setup:native` installs, pinned in one place.
//
// tfjs-node 4.22 is the release that matches our pinned tfjs 4.22.0 (its @tensorflow/tfjs dependency
// is exactly 4.22.0, so npm dedupes tfjs-core and the 'tensorflow' backend registers on the engine
// the rest of the project uses). Its installer wants libtensorflow 2.9.1 from Google's bucket; we
// give it TensorFlow's own C library taken from the PyPI wheel instead, renamed to what it expects.
//
// Why TensorFlow 2.12.0: the binding calls 55 TF_*/TFE_* C API functions, all present and unchanged
// in 2.12 (the C API only grows), and the binding is compiled here against 2.12's own headers, so
// declarations and library agree. Measured on this machine kind: 2.12's libraries are 550 MB
// (about 400 MB after strip) against 810 MB for 2.21, with the same parity (1.6e-5 vs wasm on the
// real ViT-Tiny), and 2.12 still ships cp311 wheels. The installer checks the ABI after the build
// (every symbol the addon needs is defined by the library) rather than trusting this comment.

export type Variant = 'cpu' | 'gpu';

export const TFJS_NODE_VERSION = '4.22.0';
/** The libtensorflow version tfjs-node 4.22's scripts/deps-constants.js asks for (only its file name matters). */
export const LIBTENSORFLOW_NAME_VERSION = '2.9.1';

export interface VariantPin {
  /** The npm package. */
  npmPackage: string;
  /** The PyPI project whose wheel carries libtensorflow_cc.so.2. */
  wheelProject: string;
  tfVersion: string;
  /** The tarball file name tfjs-node's scripts/install.js builds from TFJS_NODE_BASE_URI. */
  tarballName: string;
}

/** Wheel tags: the libraries do not depend on the Python version; pinning the tags pins the file. */
export const WHEEL_TAGS = { platform: 'manylinux2014_x86_64', pythonVersion: '3.11', abi: 'cp311', implementation: 'cp' };

export const PINS: Record<Variant, VariantPin> = {
  cpu: {
    npmPackage: '@tensorflow/tfjs-node',
    wheelProject: 'tensorflow-cpu',
    tfVersion: '2.12.0',
    tarballName: `libtensorflow-cpu-linux-x86_64-${LIBTENSORFLOW_NAME_VERSION}.tar.gz`,
  },
  // The CUDA build. 2.15.1 rather than 2.12: from 2.14 on, the `tensorflow` wheel takes its CUDA 12
  // and cuDNN libraries from nvidia-* wheels (its `and-cuda` extra) instead of a system CUDA
  // install, so the whole runtime can come from PyPI. See scripts/native/gpu.ts.
  gpu: {
    npmPackage: '@tensorflow/tfjs-node-gpu',
    wheelProject: 'tensorflow',
    tfVersion: '2.15.1',
    tarballName: `libtensorflow-gpu-linux-x86_64-${LIBTENSORFLOW_NAME_VERSION}.tar.gz`,
  },
};
