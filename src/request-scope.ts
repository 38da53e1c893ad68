/**
 * What belongs to one request wherever code runs for it: its id and its SQL statement count. Carried by
 * AsyncLocalStorage so the database hook and the error mask can reach it without threading it through every call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestScope {
  readonly requestId: string;
  sqlStatements: number;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();

/** The database's per-statement hook: counts into the current request, if any. */
export function countStatement(): void {
  const scope = requestScope.getStore();
  if (scope) scope.sqlStatements += 1;
}
