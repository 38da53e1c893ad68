/**
 * What a client sees of an error. Errors marked safe (GraphQLErrors with a code: ours, yoga's, graphql-js')
 * pass with their message; anything else becomes INTERNAL_SERVER_ERROR quoting the request id, and is logged
 * with that id. The original error is never attached (yoga does that in development): no stack trace leaves.
 *
 * yoga's mask does not know the request, so it happens in two steps: `createMaskError` replaces the error and
 * remembers its cause, and `reportMaskedErrors` (once the result, and so the request, is at hand) logs the
 * cause with the request id and puts that id into the message. The cause is logged as it was thrown: the logger
 * (src/observability/logger.ts) keeps a failed query's parameters and the client's values out of every line, this one included.
 *
 * A fault of the infrastructure (src/db/faults.ts: a statement timeout, no pooled connection in time, PostgreSQL
 * or PgBouncer lost or unreachable) is not a bug: it is answered with its own code, `TIMEOUT` or
 * `SERVICE_UNAVAILABLE`, `retryable: true`, and logged at warn. When the request produced no data at all, the
 * answer is HTTP 503 with `Retry-After`, so HTTP clients, proxies and load balancers retry it as what it is; a
 * request that produced some data keeps its status, the failed fields' errors saying what to retry.
 */
import { PothosValidationError } from '@pothos/core';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import { faultOf, type FaultCode } from '../db/faults.js';
import type { Logger } from '../observability/logger.js';

/** Masked errors whose cause is not logged yet: that cause, and the fault it is, if it is one. */
const unreported = new WeakMap<GraphQLError, { readonly cause: unknown; readonly fault?: FaultCode }>();

const FAULT_MESSAGES: Readonly<Record<FaultCode, string>> = {
  TIMEOUT: 'The database did not answer in time, and the operation was stopped. Retry it shortly, or ask for less at once.',
  SERVICE_UNAVAILABLE: 'The service is briefly unavailable. Retry shortly.',
};

/** What a client whose request failed for a fault is told to wait before it retries. */
export const FAULT_RETRY_AFTER_SECONDS = 1;

function withExtensions(error: GraphQLError, extensions: Record<string, unknown>, message = error.message): GraphQLError {
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, ...extensions },
  });
}

export function createMaskError() {
  return (error: unknown, message: string): Error => {
    const fault = faultOf(error);
    if (fault) {
      const located = error instanceof GraphQLError ? error : undefined;
      const replaced = new GraphQLError(FAULT_MESSAGES[fault], { nodes: located?.nodes, path: located?.path, extensions: { code: fault, retryable: true } });
      unreported.set(replaced, { cause: located?.originalError ?? error, fault });
      return replaced;
    }
    const masked = yogaMaskError(error, message, false);
    if (!(masked instanceof GraphQLError)) return masked;
    // graphql-jit builds some errors without an extensions object at all.
    const extensions = (masked.extensions ?? {}) as { code?: string; http?: { status?: number; spec?: boolean } };

    if (extensions.code === 'INTERNAL_SERVER_ERROR') {
      const replaced = new GraphQLError(message, { nodes: masked.nodes, path: masked.path, extensions: masked.extensions });
      unreported.set(replaced, { cause: error instanceof GraphQLError ? (error.originalError ?? error) : error });
      return replaced;
    }
    // Pothos' own argument checks (a malformed global ID, an ID of the wrong type) are the client's to fix: they
    // get the code that says so.
    if (masked.originalError instanceof PothosValidationError && extensions.code === undefined) {
      return withExtensions(masked, { code: 'BAD_USER_INPUT' });
    }

    // A request error raised before any field ran (a variable of the wrong type, a missing operation name) carries
    // no code; graphql-js' executor marks it 400 without flagging it spec-governed, graphql-jit does not mark it at
    // all. The GraphQL-over-HTTP spec wants 400 for application/graphql-response+json and 200 for legacy JSON.
    // (Parse and validation errors and malformed bodies are already marked by yoga and pass unchanged.)
    if (!masked.path && extensions.code === undefined && !extensions.http?.spec) {
      return withExtensions(masked, { code: 'BAD_USER_INPUT', http: { ...extensions.http, status: 400, spec: true } });
    }
    return masked;
  };
}

/**
 * Nothing was read or written that the client could use: no data, or every root field null because it failed (a
 * root field that is null without an error, a user not found, is an answer).
 */
function producedNoData({ data, errors }: { data?: Record<string, unknown> | null; errors?: readonly GraphQLError[] | undefined }): boolean {
  if (data == null) return true;
  const failed = new Set(errors?.map((error) => error.path?.[0]));
  return Object.entries(data).every(([field, value]) => value === null && failed.has(field));
}

/**
 * Logs each masked error's cause with the request id and quotes that id in the message the client reads; a result
 * that holds only a fault's errors and no data becomes a 503 with Retry-After. Results without a masked error
 * come back as they are.
 */
export function reportMaskedErrors(single: ExecutionResult, requestId: string, logger: Logger): ExecutionResult {
  if (!single.errors?.some((error) => unreported.has(error))) return single;
  let faulted = false;
  const errors = single.errors.map((error) => {
    const report = unreported.get(error);
    if (!report) return error;
    unreported.delete(error);
    if (report.fault) {
      faulted = true;
      logger.warn({ err: report.cause, requestId, code: report.fault }, report.fault === 'TIMEOUT' ? 'database timed out' : 'database unavailable');
      return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, extensions: { ...error.extensions, requestId } });
    }
    logger.error({ err: report.cause, requestId }, 'unexpected error');
    return new GraphQLError(`${error.message} Quote request id ${requestId} when reporting it.`, {
      nodes: error.nodes,
      path: error.path,
      extensions: { ...error.extensions, requestId },
    });
  });
  if (!faulted || !producedNoData({ data: single.data, errors })) return { ...single, errors };
  const http = { status: 503, headers: { 'Retry-After': String(FAULT_RETRY_AFTER_SECONDS) } };
  return { ...single, errors, extensions: { ...(single.extensions), http } };
}
