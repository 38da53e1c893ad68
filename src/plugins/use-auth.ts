/**
 * Authentication in yoga: the request's viewer, read by src/auth/viewer.ts (a bad token is a 401).
 */
import type { Plugin } from 'graphql-yoga';
import { viewerOf } from '../auth/viewer.js';
import type { VerifyToken } from '../auth/jwt.js';
import { scopeOf } from '../request/scope.js';

export function useAuth(verifyToken: VerifyToken): Plugin {
  return {
    async onParams({ request }) {
      scopeOf(request).viewer = await viewerOf(request.headers.get('authorization'), verifyToken);
    },
  };
}
