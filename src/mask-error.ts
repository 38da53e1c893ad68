/**
 * What a client sees of an error. Errors marked safe (GraphQLErrors with a code: ours, yoga's, graphql-js')
 * pass with their message; anything else becomes INTERNAL_SERVER_ERROR quoting the request id, and is logged
 * with that id. The original error is never attached (yoga does that in development): no stack trace leaves.
 */
import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import type { Logger } from './logger.js';
import { requestScope } from './request-scope.js';

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

export function createMaskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    const masked = yogaMaskError(error, message, false);
    if (!(masked instanceof GraphQLError)) return masked;
    const extensions = masked.extensions as { code?: string; http?: { status?: number; spec?: boolean } };

    if (extensions.code === 'INTERNAL_SERVER_ERROR') {
      const requestId = requestScope.getStore()?.requestId ?? 'unknown';
      logger.error({ err: error instanceof GraphQLError ? (error.originalError ?? error) : error, requestId }, 'unexpected error');
      return new GraphQLError(`${message} Quote request id ${requestId} when reporting it.`, {
        nodes: masked.nodes,
        path: masked.path,
        extensions: { ...masked.extensions, requestId },
      });
    }
    // Pothos' own argument checks (a malformed global ID, an ID of the wrong type) are the client's to fix: they
    // get the code that says so.
    if (masked.originalError instanceof PothosValidationError && extensions.code === undefined) {
      return withExtensions(masked, { code: 'BAD_USER_INPUT' });
    }

    // A variable of the wrong type: @graphql-tools marks it 400 without a code and not as spec-governed, so yoga
    // would send 400 even to legacy `application/json` clients, which the GraphQL-over-HTTP spec answers 200.
    // (Malformed bodies carry code BAD_REQUEST and stay 400 for everyone.)
    if (!masked.path && extensions.code === undefined && extensions.http?.status === 400 && !extensions.http.spec) {
      return withExtensions(masked, { code: 'BAD_USER_INPUT', http: { ...extensions.http, spec: true } });
    }
    return masked;
  };
}
