import { defineConfig } from 'vitest/config';

// Tests start real daemons, nginx, sshd and network namespaces: generous
// timeouts, and files run one per core so namespace set-ups don't starve.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
