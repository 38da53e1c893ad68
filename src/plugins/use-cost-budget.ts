/**
 * The cost budget, as GitHub and Shopify price their GraphQL APIs. Each operation is priced before it runs
 * (src/cost/): above what one operation may cost for this client it is refused (COST_LIMIT_EXCEEDED, 400);
 * otherwise its requested cost is charged up front against the client's bucket, one atomic operation in the
 * shared store (src/store/cost-bucket.ts), and a client whose bucket holds less is refused (RATE_LIMITED, 429
 * with a true Retry-After; src/cost/charge.ts). After it ran, the client is refunded down to the actual cost,
 * priced from what the response holds. Every response says all of it in `extensions.cost` and `RateLimit-*`
 * headers. A mutation operation costs 10 more than its fields: writes cost more than reads.
 */
import type { IncomingMessage } from 'node:http';
import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';
import type { Context } from '../context.js';
import { chargeOperation, rateLimitHeaders, settleOperation, type Budget } from '../cost/charge.js';
import type { CostModel } from '../cost/estimate.js';
import { scopeOf } from '../request/scope.js';

export interface CostBudgetOptions {
  readonly model: CostModel;
  readonly budget: Budget;
  /** The most one operation may cost (MAX_COST); never more than the client's bucket holds. */
  readonly maxCost: number;
}

export function useCostBudget({ model, budget: budgets, maxCost }: CostBudgetOptions): Plugin {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      // Served by node:http, yoga's context carries the socket's request as `req` (not under yoga.fetch).
      const { request, req } = args.contextValue as YogaInitialContext & { req?: IncomingMessage };
      const document = args.document as DocumentNode;
      const operation = getOperationAST(document, args.operationName as string | undefined);
      // No operation to run: execution itself reports that, and costs nothing.
      if (!operation) return;
      const scope = scopeOf(request);
      const client = budgets.clientOf(scope.viewer?.id, req?.socket.remoteAddress, request.headers.get('x-forwarded-for'));
      const priced = { document, operation, variables: (args.variableValues ?? {}) as Record<string, unknown> };
      const charged = await chargeOperation(budgets, { model, maxCost }, client, scope.viewer !== null, priced);
      if (charged.refused) {
        setResultAndStopExecution(charged.refused);
        return;
      }
      const context = args.contextValue as unknown as Context;
      const report = charged.report;
      context.cost = report;
      scope.cost = report;

      return {
        async onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const settled = await settleOperation(budgets, model, client, report, priced, result);
          scope.cost = settled.report;
          context.cost = settled.report;
          setResult(settled.result);
        },
      };
    },

    onResponse({ request, response }) {
      const report = scopeOf(request).cost;
      if (!report) return;
      for (const [name, value] of Object.entries(rateLimitHeaders(report.budget))) response.headers.set(name, value);
    },
  };
}
