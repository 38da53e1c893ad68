import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql ships both ESM and CJS; yoga's dependencies load the CJS one, so Vite must too, or two copies of
    // graphql meet ("Cannot use GraphQLScalarType from another module or realm"). Node itself resolves one.
    alias: { graphql: 'graphql/index.js' },
  },
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // Each file has its own database; files run in parallel processes, tests within a file in order.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
