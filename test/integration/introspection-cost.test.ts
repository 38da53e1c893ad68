/**
 * What GraphiQL's introspection costs through the real server at the default MAX_COST and budgets (the test
 * helper's are unlimited): priced at the size of its response (src/cost/introspection.ts), it is within what a
 * viewer may spend, and GraphiQL in development introspects as a viewer, with the demo user's token that
 * `npm start` pre-fills in its headers (@graphiql/react sends the header editor's headers with its introspection
 * request). An anonymous client's bucket holds less than one full introspection: it is told to sign in.
 */
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { codesOf } from '../helpers/assertions.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';

interface Cost {
  requestedQueryCost: number;
  actualQueryCost?: number;
  maximumQueryCost: number;
  throttleStatus?: { maximumAvailable: number; currentlyAvailable: number };
}
const costOf = (response: GraphQLResponse) => (response.body as { extensions?: { cost?: Cost } }).extensions?.cost;

const defaults = loadConfig({ NODE_ENV: 'development' });
const GRAPHIQL_QUERIES = {
  'getIntrospectionQuery()': getIntrospectionQuery(),
  'with every option GraphiQL turns on': getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true }),
};

describe('GraphiQL\'s introspection at the default MAX_COST and budgets', () => {
  let server: TestServer;
  let lastViewer = 2_000_000;
  beforeAll(async () => {
    const { viewer, anonymous } = defaults.budget;
    server = await startTestServer({
      NODE_ENV: 'development',
      COST_BUDGET_VIEWER: String(viewer.capacity),
      COST_RESTORE_VIEWER: String(viewer.restorePerSecond),
      COST_BUDGET_ANONYMOUS: String(anonymous.capacity),
      COST_RESTORE_ANONYMOUS: String(anonymous.restorePerSecond),
    });
    expect(server.config.limits.maxCost).toBe(defaults.limits.maxCost);
  });
  afterAll(() => server?.close());

  it.each(Object.entries(GRAPHIQL_QUERIES))('runs for a viewer (%s), priced at its size, and leaves room in the bucket', async (_, query) => {
    const response = await server.graphql(query, { as: (lastViewer += 1) });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    const cost = costOf(response)!;
    // 71 points when every introspection list was assumed 1 long; the response is 657 points (60 KB).
    expect(cost.requestedQueryCost).toBeGreaterThan(600);
    expect(cost.requestedQueryCost).toBeLessThanOrEqual(cost.maximumQueryCost);
    expect(cost.maximumQueryCost).toBe(Math.min(defaults.limits.maxCost, defaults.budget.viewer.capacity));
    expect(cost.actualQueryCost).toBeGreaterThan(cost.requestedQueryCost * 0.98);
    // What is left pays for the example query GraphiQL opens with (61 points).
    expect(cost.throttleStatus!.currentlyAvailable).toBeGreaterThanOrEqual(defaults.budget.viewer.capacity - cost.requestedQueryCost);
    expect(cost.throttleStatus!.currentlyAvailable).toBeGreaterThan(61);
  });

  it('is refused to an anonymous client, whose bucket holds less, with the sign-in hint and before it runs', async () => {
    const response = await server.graphql(getIntrospectionQuery());
    expect(response.status).toBe(400);
    expect(codesOf(response.body)).toEqual(['COST_LIMIT_EXCEEDED']);
    expect(response.body.errors![0]!.message).toMatch(/sign in/);
    expect(response.body.errors![0]!.extensions).toMatchObject({ limit: defaults.budget.anonymous.capacity });
    expect(response.body).not.toHaveProperty('data');
  });
});
