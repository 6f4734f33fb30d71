import { defineConfig } from 'vitest/config';

// `npm run test:real`: checks on the real downloaded weights (not part of CI, see test-real/).
export default defineConfig({
  test: { include: ['test-real/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
});
