// TensorFlow (the tfjs-node backend) prints its start-up lines unless this is set before it loads;
// jest gives each test file a copy of process.env, so src/runtime/backend.ts cannot set it there.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

// TFJS_TURBO_TFJS_DIR=<dir>: run against the @tensorflow packages installed in <dir>/node_modules
// (an older tfjs 4.x, scripts/tfjs_versions.ts) instead of the repository's; tfjs-node is mapped
// to a missing path there, so the suites see it as not installed rather than mixing two tfjs-cores.
const path = require('path');
const tfjsDir = process.env.TFJS_TURBO_TFJS_DIR;
const tfjsMapper = tfjsDir
  ? {
      '^@tensorflow/tfjs-node(-gpu)?$': path.join(tfjsDir, 'not-installed', 'tfjs-node'),
      '^@tensorflow/(tfjs-(?:core|converter|backend-[a-z]+))(/.*)?$': path.join(path.resolve(tfjsDir), 'node_modules', '@tensorflow', '$1$2'),
    }
  : {};

/** @type {import('jest').Config} */
module.exports = {
  moduleNameMapper: tfjsMapper,
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // The default (cores - 1) is one worker on a 2-core machine; the slow cpu-backend parity files
  // are independent and run side by side.
  maxWorkers: 2,
  testTimeout: 600000,
};
