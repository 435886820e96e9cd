import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // Unit files mostly wait on timers and loopback sockets, not the CPU: four at a time take
          // about 65 s instead of 160 s on 2 cores. They run before the integration files (group
          // order), never beside them.
          maxWorkers: 4,
          sequence: { groupOrder: 0 },
          // Four files share two cores: a test that waits on real timers may take longer than alone.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          // One real broker on a 2-core machine: files run one after another so timing-sensitive
          // scenarios (rebalances, crashes) do not starve each other.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Longer fault runs on a real broker (three instances, SIGKILL/SIGSTOP rounds with dead
        // letters, a network stall past the session timeout, a broker outage): `npm run test:soak`, about 3 minutes;
        // kept out of `npm test` to hold it under its time budget.
        test: {
          name: 'soak',
          include: ['test/soak/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
