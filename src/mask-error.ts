/**
 * What a client sees of an error. Errors marked safe (GraphQLErrors with a code: ours, yoga's, graphql-js')
 * pass with their message; anything else becomes INTERNAL_SERVER_ERROR quoting the request id, and is logged
 * with that id. The original error is never attached (yoga does that in development): no stack trace leaves.
 *
 * yoga's mask does not know the request, so it happens in two steps: `createMaskError` replaces the error and
 * remembers its cause, and `useMaskedErrorReport` (once the result, and so the request, is at hand) logs the
 * cause with the request id and puts that id into the message. The cause is logged as it was thrown: the logger
 * (src/logger.ts) keeps a failed query's parameters and the client's values out of every line, this one included.
 */
import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from './logger.js';
import { scopeOf } from './request-scope.js';

/** Masked errors whose cause is not logged yet, and that cause. */
const unreported = new WeakMap<GraphQLError, unknown>();

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
    const masked = yogaMaskError(error, message, false);
    if (!(masked instanceof GraphQLError)) return masked;
    // graphql-jit builds some errors without an extensions object at all.
    const extensions = (masked.extensions ?? {}) as { code?: string; http?: { status?: number; spec?: boolean } };

    if (extensions.code === 'INTERNAL_SERVER_ERROR') {
      const replaced = new GraphQLError(message, { nodes: masked.nodes, path: masked.path, extensions: masked.extensions });
      unreported.set(replaced, error instanceof GraphQLError ? (error.originalError ?? error) : error);
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

/** Logs each masked error's cause with the request id, and quotes that id in the message the client reads. */
export function useMaskedErrorReport(logger: Logger): Plugin {
  return {
    onResultProcess(event) {
      const { request, result } = event;
      if (Symbol.asyncIterator in result) return;
      const results = Array.isArray(result) ? result : [result];
      if (!results.some((single) => single.errors?.some((error) => unreported.has(error)))) return;
      const { requestId } = scopeOf(request);
      const reported = results.map((single) => ({
        ...single,
        errors: single.errors?.map((error) => {
          if (!unreported.has(error)) return error;
          logger.error({ err: unreported.get(error), requestId }, 'unexpected error');
          return new GraphQLError(`${error.message} Quote request id ${requestId} when reporting it.`, {
            nodes: error.nodes,
            path: error.path,
            extensions: { ...error.extensions, requestId },
          });
        }),
      }));
      event.setResult(Array.isArray(result) ? reported : reported[0]!);
    },
  };
}
