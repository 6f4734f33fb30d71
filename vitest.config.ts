import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The model conformance tests run a full-size forward pass in plain TypeScript.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run test files in at most two workers.
    maxWorkers: 2,
  },
});
