/**
 * One JSON log line per GraphQL request (request id, viewer, operation, status, duration, SQL statements, error
 * codes) and the same figures as Prometheus metrics: written here for yoga's stage (src/plugins/use-observability.ts)
 * and the prepared lane alike, so a request reads the same in the logs whichever answered it.
 */
import type { ExecutionResult } from 'graphql';
import type { RequestScope } from './scope.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** Adds the `extensions.code` of each error of a final (masked) result to the request's record. */
export function noteErrorCodes(scope: RequestScope, result: Pick<ExecutionResult, 'errors'>): void {
  for (const error of result.errors ?? []) {
    const code = error.extensions?.['code'];
    scope.errorCodes.push(typeof code === 'string' ? code : 'UNKNOWN');
  }
}

/** The log line and the metrics of a request GraphQL answered (yoga or the prepared lane). */
export function recordRequest(metrics: Metrics, logger: Logger, scope: RequestScope, status: number): void {
  const seconds = logRequest(logger, scope, status);
  metrics.observe({ operation: scope.operationName ?? 'anonymous', status, seconds, sqlStatements: scope.sqlStatements, errorCodes: scope.errorCodes });
}

/**
 * The log line alone; its duration in seconds. The node:http front's refusals are logged so too, and counted apart
 * (tally_http_refusals_total): they never reached GraphQL, which tally_graphql_requests_total counts.
 */
export function logRequest(logger: Logger, scope: RequestScope, status: number): number {
  const seconds = (performance.now() - scope.startedAt) / 1000;
  const operation = scope.operationName ?? 'anonymous';
  logger.info(
    {
      requestId: scope.requestId,
      viewerId: scope.viewer?.id ?? null,
      operation,
      status,
      ms: Math.round(seconds * 10_000) / 10,
      sql: scope.sqlStatements,
      ...(scope.errorCodes.length > 0 ? { errors: scope.errorCodes } : {}),
    },
    'graphql request',
  );
  return seconds;
}
