import { defineConfig } from 'vitest/config';

// `npm run test:image-cluster`: two booted appliances form a cluster
// (test/image-cluster). Outside npm test, whose 20-minute budget it does not
// fit; one file, one VM pair at a time.
export default defineConfig({
  test: {
    include: ['test/image-cluster/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 3_000_000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default'],
  },
});
