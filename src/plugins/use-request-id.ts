/**
 * Gives every request an id: the client's own `x-request-id` when it sends a sane one, a new UUID otherwise.
 * The id is echoed in the `x-request-id` response header and shown in masked errors, so a user can quote it and
 * an operator can find the log line. It also opens the request's scope (see request-scope.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { newRequestScope, requestScope, type RequestScope } from '../request-scope.js';

const CLIENT_ID = /^[\w.:-]{1,128}$/;
const scopes = new WeakMap<Request, RequestScope>();

export function scopeOf(request: Request): RequestScope | undefined {
  return scopes.get(request);
}

export function useRequestId(): Plugin {
  return {
    instrumentation: {
      request({ request }, wrapped) {
        const sent = request.headers.get('x-request-id');
        const scope = newRequestScope(sent && CLIENT_ID.test(sent) ? sent : randomUUID());
        scopes.set(request, scope);
        return requestScope.run(scope, wrapped);
      },
    },
    onResponse({ request, response }) {
      const scope = scopes.get(request);
      if (scope) response.headers.set('x-request-id', scope.requestId);
    },
  };
}
