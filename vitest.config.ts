import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/redis-global-setup.ts', 'test/helpers/redis-cluster-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: two forks keep the machine responsive for the servers the tests start.
    pool: 'forks',
    maxWorkers: 2,
    // A test that leaks a rejected promise must fail, not pass quietly.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
