/**
 * Errors a client may see. Each is a GraphQLError with a machine-readable `extensions.code`, so yoga's error
 * masking lets it through with its message; anything else thrown during a request is masked as
 * INTERNAL_SERVER_ERROR with the request id (see server.ts).
 */
import { GraphQLError } from 'graphql';

export type ErrorCode = 'BAD_USER_INPUT' | 'UNAUTHENTICATED' | 'FORBIDDEN';

export class AppError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: { field?: string; httpStatus?: number; headers?: Record<string, string> } = {},
  ) {
    super(message, {
      extensions: {
        code,
        ...(extra.field ? { field: extra.field } : {}),
        ...(extra.httpStatus ? { http: { status: extra.httpStatus, headers: extra.headers } } : {}),
      },
    });
    this.name = 'AppError';
  }
}

/** A bad argument: the client can fix it. `field` names the argument. */
export const badInput = (message: string, field?: string) => new AppError('BAD_USER_INPUT', message, { field });
