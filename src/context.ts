/** The per-request GraphQL context: who is asking, the request's own loaders, and its statement-counting db. */
import type { Viewer } from './auth/jwt.js';
import type { UserCache } from './cache/user-cache.js';
import type { Database, Db, Target } from './db/client.js';
import type { EventBus } from './events.js';
import { createLoaders, type Loaders } from './loaders/index.js';
import type { CostReport, RequestScope } from './request/scope.js';

export interface Context {
  readonly viewer: Viewer | null;
  readonly loaders: Loaders;
  readonly db: Db;
  /**
   * Whether a list may join in what its query selects below it (a page of posts, its authors) and prime the
   * loaders with it. Off only with UNBATCHED_LOADERS, whose point is to show the N+1 this and batching remove.
   */
  readonly lookahead: boolean;
  /** Where mutations tell what they committed. */
  readonly events: EventBus;
  /** The largest amount one money mutation may move, in major units of its currency (MAX_MONEY_AMOUNT). */
  readonly maxAmountMajor: bigint;
  /** The `Idempotency-Key` header, which money mutations accept in place of their `idempotencyKey` input. */
  readonly idempotencyKeyHeader: string | null;
  /** The request's own record (statements, viewer, the budget for the RateLimit-* headers). */
  readonly scope: RequestScope;
  /**
   * This operation's cost and the client's budget, set by the budget stage for `rateLimit`: per operation, not
   * per request, because a batched request runs several operations with a context each.
   */
  cost: CostReport | undefined;
}

export interface ContextOptions {
  /** false only in load tests, to measure the N+1 that batching removes (config UNBATCHED_LOADERS). */
  readonly batch: boolean;
  readonly users?: UserCache | undefined;
  readonly events: EventBus;
  readonly maxAmountMajor: bigint;
}

/**
 * Builds one operation's context, for yoga (src/server.ts) and the prepared lane (src/http/prepared-lane.ts)
 * alike: the scope the request opened, its `Idempotency-Key` header, and where its statements go.
 */
export type ContextFactory = (scope: RequestScope, idempotencyKeyHeader: string | null, target: Target) => Context;

export function contextFactory(database: Database, options: ContextOptions): ContextFactory {
  return (scope, idempotencyKeyHeader, target) => {
    const db = database.forRequest(() => {
      scope.sqlStatements += 1;
    }, target);
    return {
      viewer: scope.viewer,
      loaders: createLoaders(db, { batch: options.batch, users: options.users }),
      db,
      lookahead: options.batch,
      events: options.events,
      maxAmountMajor: options.maxAmountMajor,
      idempotencyKeyHeader,
      scope,
      cost: undefined,
    };
  };
}
