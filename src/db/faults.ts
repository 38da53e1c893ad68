/**
 * Which failures of the database are the infrastructure's, not the request's: the client did nothing wrong, and
 * the same request may well succeed in a moment. They are answered as retryable GraphQL errors with a stable code
 * (src/request/mask-error.ts) instead of INTERNAL_SERVER_ERROR:
 *
 * - TIMEOUT: the statement ran past DB_STATEMENT_TIMEOUT_MS (PostgreSQL cancelled it: 57014), waited past a lock
 *   timeout (55P03), or no answer came back within the driver's own read timeout (a partitioned or paused server).
 * - SERVICE_UNAVAILABLE: no pooled connection became free within DB_CONNECT_TIMEOUT_MS, a connection could not be
 *   opened or was lost (PostgreSQL restarting or failing over, PgBouncer refusing or closing it), the server
 *   shutting down or starting up, out of connections or resources, or read-only after a failover; a
 *   transaction that lost a serialization or deadlock conflict more often than the ledger retries it.
 *
 * The error is read through its causes: drizzle wraps the driver's error, graphql-js wraps the resolver's, and a
 * connection refused on several addresses is an AggregateError. pg and pg-pool raise some of these as plain
 * Errors with no code, so their messages are matched; every other error stays unexpected, a pool used after this
 * process closed it included (a bug of the shutdown's order, not a fault to retry).
 */

export type FaultCode = 'TIMEOUT' | 'SERVICE_UNAVAILABLE';

/** SQLSTATEs (or their classes, by two characters) and what each is. */
const SQLSTATES: ReadonlyMap<string, FaultCode> = new Map([
  ['57014', 'TIMEOUT'], // query_canceled: statement_timeout
  ['55P03', 'TIMEOUT'], // lock_not_available: lock_timeout
  ['08', 'SERVICE_UNAVAILABLE'], // connection exceptions; PgBouncer answers its own refusals with 08P01
  ['53', 'SERVICE_UNAVAILABLE'], // insufficient resources: too many connections, disk full, out of memory
  ['57P01', 'SERVICE_UNAVAILABLE'], // admin_shutdown: the server is stopping (a restart, a failover)
  ['57P02', 'SERVICE_UNAVAILABLE'], // crash_shutdown
  ['57P03', 'SERVICE_UNAVAILABLE'], // cannot_connect_now: the server is starting up or in recovery
  ['57P05', 'SERVICE_UNAVAILABLE'], // idle_session_timeout
  ['25006', 'SERVICE_UNAVAILABLE'], // read_only_sql_transaction: a write reached a standby after a failover
  ['40001', 'SERVICE_UNAVAILABLE'], // serialization_failure and deadlock_detected, once the ledger's own retries
  ['40P01', 'SERVICE_UNAVAILABLE'], // (src/ledger/idempotency.ts) are spent: nothing was committed
]);

/** Node's codes for a socket that could not be opened or was lost. */
const SYSTEM_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** pg's and pg-pool's own errors, which carry no code. */
const DRIVER_MESSAGES: readonly (readonly [RegExp, FaultCode])[] = [
  [/^Query read timeout$/, 'TIMEOUT'],
  [/^timeout exceeded when trying to connect$/, 'SERVICE_UNAVAILABLE'],
  [/^Connection terminated( unexpectedly| due to connection timeout)?$/, 'SERVICE_UNAVAILABLE'],
  [/^timeout expired$/, 'SERVICE_UNAVAILABLE'],
  [/^Client has encountered a connection error and is not queryable$/, 'SERVICE_UNAVAILABLE'],
];

const MAX_DEPTH = 8;

function ownFault(error: { code?: unknown; message?: unknown }): FaultCode | undefined {
  const { code, message } = error;
  if (typeof code === 'string') {
    const byState = SQLSTATES.get(code) ?? (code.length === 5 ? SQLSTATES.get(code.slice(0, 2)) : undefined);
    if (byState) return byState;
    if (SYSTEM_CODES.has(code)) return 'SERVICE_UNAVAILABLE';
  }
  if (typeof message === 'string') return DRIVER_MESSAGES.find(([pattern]) => pattern.test(message))?.[1];
  return undefined;
}

/** The infrastructure fault behind an error, or undefined when it is not one (see the top of this file). */
export function faultOf(error: unknown, depth = 0): FaultCode | undefined {
  if (typeof error !== 'object' || error === null || depth > MAX_DEPTH) return undefined;
  const fields = error as { code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  const own = ownFault(fields);
  if (own) return own;
  for (const inner of [fields.originalError, fields.cause]) {
    const found = faultOf(inner, depth + 1);
    if (found) return found;
  }
  if (Array.isArray(fields.errors)) {
    for (const member of fields.errors as unknown[]) {
      const found = faultOf(member, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
