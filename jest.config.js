// TensorFlow (the tfjs-node backend) prints its start-up lines unless this is set before it loads;
// jest gives each test file a copy of process.env, so src/runtime/backend.ts cannot set it there.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // The default (cores - 1) is one worker on a 2-core machine; the slow cpu-backend parity files
  // are independent and run side by side.
  maxWorkers: 2,
  testTimeout: 600000,
};
