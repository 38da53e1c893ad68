/**
 * What belongs to one request wherever code runs for it: its id, when it started, who asked, which operation,
 * and how many SQL statements it cost. Carried by AsyncLocalStorage so the database hook, the error mask and the
 * request log reach it without threading it through every call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestScope {
  readonly requestId: string;
  readonly startedAt: number;
  sqlStatements: number;
  viewerId: number | null;
  operationName: string | undefined;
  /** `extensions.code` of every error in the response, in order. */
  errorCodes: string[];
}

export const requestScope = new AsyncLocalStorage<RequestScope>();

export function newRequestScope(requestId: string): RequestScope {
  return { requestId, startedAt: performance.now(), sqlStatements: 0, viewerId: null, operationName: undefined, errorCodes: [] };
}

/** The database's per-statement hook: counts into the current request, if any. */
export function countStatement(): void {
  const scope = requestScope.getStore();
  if (scope) scope.sqlStatements += 1;
}
