/**
 * `rateLimit`: the client's cost budget, as GitHub's `rateLimit { cost remaining resetAt }` shows it. It costs
 * nothing (`@cost(weight: 0)`), so a query selecting only it asks without spending. The figures come from the
 * budget stage, which priced and charged this operation before it ran (src/plugins/use-cost-budget.ts).
 */
import { GraphQLError } from 'graphql';
import type { CostReport } from '../request/scope.js';
import { builder } from './builder.js';

const RateLimit = builder.objectRef<CostReport>('RateLimit').implement({
  description:
    'The client\'s cost budget: a bucket of points per signed-in viewer (per IP when anonymous) that each operation draws its cost from and that refills continuously. The same figures come with every response as extensions.cost.',
  fields: (t) => ({
    cost: t.int({
      description: 'The requested cost of this operation, charged before it ran (0 for one that selects only rateLimit).',
      resolve: (report) => report.requested,
    }),
    maxQueryCost: t.int({ description: 'The most one operation may cost for this client.', resolve: (report) => report.limit }),
    limit: t.int({ description: 'Points in a full bucket.', resolve: (report) => report.budget.capacity }),
    remaining: t.int({ description: 'Points left after this operation\'s charge.', resolve: (report) => report.budget.remaining }),
    restoreRate: t.int({ description: 'Points restored per second.', resolve: (report) => report.budget.restorePerSecond }),
    resetAt: t.field({
      type: 'DateTime',
      description: 'When the bucket is full again if nothing more is spent.',
      resolve: (report) => new Date(Date.now() + report.budget.resetAfterMs),
    }),
  }),
});

builder.queryField('rateLimit', (t) =>
  t.field({
    type: RateLimit,
    // Never cached: it is this moment's budget.
    directives: { cost: { weight: 0 }, cacheControl: { maxAge: 0 } },
    description: 'The client\'s cost budget. Free: asking spends nothing.',
    resolve: (_root, _args, context) => {
      // Only a load test leaves the budget stage out (DISABLE_STAGES, refused in production).
      if (!context.cost) throw new GraphQLError('This server runs without a cost budget (DISABLE_STAGES=budget).', { extensions: { code: 'BUDGET_DISABLED' } });
      return context.cost;
    },
  }),
);
