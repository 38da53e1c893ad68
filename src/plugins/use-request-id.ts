/**
 * Gives every request its id (src/request/request-id.ts), echoed in the `x-request-id` response header, and opens
 * the request's scope (src/request/scope.ts).
 */
import type { Plugin } from 'graphql-yoga';
import { requestIdFor } from '../request/request-id.js';
import { openRequestScope, scopeOf } from '../request/scope.js';

export function useRequestId(): Plugin {
  return {
    // Instrumentation wraps every request, before yoga's own stages (GraphiQL, for one) can answer it.
    instrumentation: {
      request({ request }, wrapped) {
        openRequestScope(request, requestIdFor(request.headers.get('x-request-id')));
        return wrapped();
      },
    },
    onResponse({ request, response }) {
      response.headers.set('x-request-id', scopeOf(request).requestId);
    },
  };
}
