/**
 * Authentication, the first stage of the request path. `Authorization: Bearer <JWT>` becomes the request's
 * viewer; no header means anonymous. A header that is present but malformed, expired or wrongly signed is a
 * 401 with a GraphQL error, never a silent fall-back to anonymous: a client with a broken token must find out.
 */
import type { Plugin } from 'graphql-yoga';
import { AppError } from '../errors.js';
import { bearerToken, InvalidTokenError, type VerifyToken } from '../auth/jwt.js';
import { scopeOf } from '../request-scope.js';

function unauthenticated(reason: string): AppError {
  return new AppError('UNAUTHENTICATED', `Invalid access token: ${reason}`, {
    httpStatus: 401,
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
  });
}

export function useAuth(verifyToken: VerifyToken): Plugin {
  return {
    async onParams({ request }) {
      const header = request.headers.get('authorization');
      if (header === null) return;
      const token = bearerToken(header);
      if (!token) throw unauthenticated('expected "Authorization: Bearer <token>"');
      try {
        scopeOf(request).viewer = await verifyToken(token);
      } catch (error) {
        if (error instanceof InvalidTokenError) throw unauthenticated(error.message);
        throw error;
      }
    },
  };
}
