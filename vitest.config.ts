import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql ships both ESM and CJS; yoga's dependencies load the CJS one, so Vite must too, or two copies of
    // graphql meet ("Cannot use GraphQLScalarType from another module or realm"). Node itself resolves one.
    alias: { graphql: 'graphql/index.js' },
  },
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Each file has its own database; files run in parallel processes, tests within a file in order.
    pool: 'forks',
    // vitest's default is one worker per core but one (1 on these 2-core machines), yet most files spend their
    // time waiting on sockets, child processes and timers, not on a core: three at once.
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      // `npm test`: the whole suite.
      { extends: true, test: { name: 'suite', include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'] } },
      // `npm run test:scenarios`, which CI runs too: minutes of load or fault under traffic each (the load runner end
      // to end, faults under load, 2,000 stalled bodies' memory), each bringing its own servers.
      { extends: true, test: { name: 'scenarios', include: ['test/scenarios/**/*.test.ts'] } },
    ],
  },
});
