/**
 * What belongs to one request wherever code runs for it: its id, when it started, who asked, which operation,
 * and how many SQL statements it cost. Kept per Request object (the same object reaches every yoga hook and the
 * GraphQL context), not in AsyncLocalStorage: on Node 20 that hooks every promise the process makes, which cost
 * 15–20% of the feed's throughput (loadtest/reports/feed.md).
 */
import type { Viewer } from '../auth/jwt.js';
import type { BucketState } from '../store/cost-bucket.js';

export interface RequestScope {
  readonly requestId: string;
  readonly startedAt: number;
  sqlStatements: number;
  /** Set by the auth stage; null while anonymous. */
  viewer: Viewer | null;
  operationName: string | undefined;
  /** `extensions.code` of every error in the response, in order. */
  errorCodes: string[];
  /** Set by the cost budget stage once the operation is priced and charged. */
  cost: CostReport | undefined;
}

/** What one operation cost and what the client has left (src/plugins/use-cost-budget.ts). */
export interface CostReport {
  /** The static cost, charged before execution. */
  readonly requested: number;
  /** The most one operation may cost for this client. */
  readonly limit: number;
  /** The client's bucket right after the charge. */
  readonly budget: BucketState;
}

const scopes = new WeakMap<Request, RequestScope>();

/** A request's scope, not tied to a fetch Request: the prepared lane keeps its own. */
export function createRequestScope(requestId: string): RequestScope {
  return {
    requestId,
    startedAt: performance.now(),
    sqlStatements: 0,
    viewer: null,
    operationName: undefined,
    errorCodes: [],
    cost: undefined,
  };
}

export function openRequestScope(request: Request, requestId: string): RequestScope {
  const scope = createRequestScope(requestId);
  scopes.set(request, scope);
  return scope;
}

/** The scope the request-id stage opened. Every request passes that stage first, so a missing scope is a bug. */
export function scopeOf(request: Request): RequestScope {
  const scope = scopes.get(request);
  if (!scope) throw new Error('no request scope: useRequestId must be the first plugin');
  return scope;
}
