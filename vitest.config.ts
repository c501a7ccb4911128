import { configDefaults, defineConfig } from 'vitest/config';

// Tests start real daemons, nginx, sshd and network namespaces: generous
// timeouts, and files run one per core so namespace set-ups don't starve.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Two booted VMs forming a cluster: its own command (npm run test:image-cluster).
    exclude: [...configDefaults.exclude, 'test/image-cluster/**'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
