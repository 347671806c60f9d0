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
