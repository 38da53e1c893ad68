/**
 * The cost budget, as GitHub and Shopify price their GraphQL APIs. Each operation is priced before it runs
 * (src/cost/): above what one operation may cost for this client it is refused (COST_LIMIT_EXCEEDED, 400);
 * otherwise its requested cost is charged up front against the client's bucket, one atomic operation in the
 * shared store (src/store/cost-bucket.ts), and a client whose bucket holds less is refused (RATE_LIMITED, 429
 * with a true Retry-After). After it ran, the client is refunded down to the actual cost, priced from what the
 * response holds. Every response says all of it in `extensions.cost` and `RateLimit-*` headers.
 *
 * A client is its signed-in viewer, or, when anonymous, its address (src/client-address.ts); anonymous clients
 * get a smaller bucket. A mutation operation costs 10 more than its fields: writes cost more than reads.
 */
import type { IncomingMessage } from 'node:http';
import { getOperationAST, GraphQLError, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';
import type { ClientAddress } from '../client-address.js';
import type { Context } from '../context.js';
import type { BudgetPolicy } from '../config.js';
import type { CostModel } from '../cost/estimate.js';
import { limitError } from '../limits/errors.js';
import type { PenaltyBox } from '../penalty-box.js';
import { scopeOf, type CostReport } from '../request-scope.js';
import type { BucketState, CostBucket } from '../store/cost-bucket.js';

export interface CostBudgetOptions {
  readonly model: CostModel;
  readonly bucket: CostBucket;
  /** The most one operation may cost (MAX_COST); never more than the client's bucket holds. */
  readonly maxCost: number;
  readonly policies: { readonly viewer: BudgetPolicy; readonly anonymous: BudgetPolicy };
  readonly clientAddress: ClientAddress;
  /** Told of every refusal, so the client's next requests wait in front of admission until then (src/penalty-box.ts). */
  readonly penaltyBox?: PenaltyBox;
}

/** `extensions.cost`, in Shopify's words, so its clients' throttling code reads Tally's too. */
function costExtension(requested: number, actual: number | undefined, limit: number, budget: BucketState | undefined) {
  return {
    requestedQueryCost: requested,
    ...(actual === undefined ? {} : { actualQueryCost: actual }),
    maximumQueryCost: limit,
    ...(budget
      ? {
          throttleStatus: {
            maximumAvailable: budget.capacity,
            currentlyAvailable: budget.remaining,
            restoreRate: budget.restorePerSecond,
            resetAfterMs: budget.resetAfterMs,
          },
        }
      : {}),
  };
}

/** The IETF draft's RateLimit fields: points in a full bucket, points left, seconds until it is full again. */
function rateLimitHeaders(budget: BucketState): Record<string, string> {
  return {
    'RateLimit-Limit': String(budget.capacity),
    'RateLimit-Remaining': String(budget.remaining),
    'RateLimit-Reset': String(Math.ceil(budget.resetAfterMs / 1000)),
  };
}

/** Whole seconds, at least 1: what Retry-After says, and so when the client is told to come back. */
const retryAfterSeconds = (budget: BucketState) => Math.max(1, Math.ceil(budget.retryAfterMs / 1000));

function rateLimited(requested: number, budget: BucketState, seconds: number): GraphQLError {
  return new GraphQLError(
    `Rate limited: this operation costs ${requested} points and ${budget.remaining} of ${budget.capacity} are left (${budget.restorePerSecond} restored per second). Retry in ${seconds} s.`,
    {
      extensions: {
        code: 'RATE_LIMITED',
        retryAfterSeconds: seconds,
        http: { status: 429, headers: { 'Retry-After': String(seconds), ...rateLimitHeaders(budget) } },
      },
    },
  );
}

export function useCostBudget({ model, bucket, maxCost, policies, clientAddress, penaltyBox }: CostBudgetOptions): Plugin {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      // Served by node:http, yoga's context carries the socket's request as `req` (not under yoga.fetch).
      const { request, req } = args.contextValue as YogaInitialContext & { req?: IncomingMessage };
      const document = args.document as DocumentNode;
      const operation = getOperationAST(document, args.operationName as string | undefined);
      // No operation to run: execution itself reports that, and costs nothing.
      if (!operation) return;
      const scope = scopeOf(request);
      const policy = scope.viewer ? policies.viewer : policies.anonymous;
      const limit = Math.min(maxCost, policy.capacity);

      let requested: number;
      try {
        requested = model.requested(document, operation, (args.variableValues ?? {}) as Record<string, unknown>);
      } catch {
        // graphql-query-complexity gives up on a document whose fragments expand past its node bound.
        requested = Number.POSITIVE_INFINITY;
      }
      if (requested > limit) {
        const message = scope.viewer || limit === maxCost ? 'The operation costs too much' : 'The operation costs too much for an anonymous client: sign in for a larger budget';
        setResultAndStopExecution(
          Number.isFinite(requested)
            ? { errors: [limitError('COST_LIMIT_EXCEEDED', message, { value: requested, limit })], extensions: { cost: costExtension(requested, undefined, limit, undefined) } }
            : { errors: [limitError('COST_LIMIT_EXCEEDED', `${message}: its fragments expand too far to price`)] },
        );
        return;
      }

      const address = scope.viewer ? undefined : clientAddress(req?.socket.remoteAddress, request.headers.get('x-forwarded-for'));
      const key = scope.viewer ? `viewer:${scope.viewer.id}` : `ip:${address}`;
      const charge = await bucket.take(key, requested, policy);
      if (!charge.allowed) {
        const seconds = retryAfterSeconds(charge);
        // The box names clients as this stage does: the same key, so a respelt header is the same client.
        const time = Date.now();
        penaltyBox?.hold(key, { untilMs: time + seconds * 1000, limit: charge.capacity, remaining: charge.remaining, restorePerSecond: charge.restorePerSecond, atMs: time });
        setResultAndStopExecution({ errors: [rateLimited(requested, charge, seconds)], extensions: { cost: costExtension(requested, undefined, limit, charge) } });
        return;
      }
      const context = args.contextValue as unknown as Context;
      context.cost = { requested, limit, budget: charge };
      scope.cost = context.cost;

      return {
        async onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const single = result as ExecutionResult;
          const actual = Math.min(requested, model.actual(document, operation, single.data));
          // Most reads return what they asked for: no refund, no second round trip.
          const budget = actual < requested ? await bucket.refund(key, requested - actual, policy, charge) : charge;
          scope.cost = { requested, limit, budget } satisfies CostReport;
          context.cost = scope.cost;
          setResult({ ...single, extensions: { ...single.extensions, cost: costExtension(requested, actual, limit, budget) } });
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
