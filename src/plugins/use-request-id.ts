/**
 * Gives every request an id: the client's own `x-request-id` when it sends a sane one, a new UUID otherwise.
 * The id is echoed in the `x-request-id` response header and shown in masked errors, so a user can quote it and
 * an operator can find the log line. It also opens the request's scope (see request-scope.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { openRequestScope, scopeOf } from '../request-scope.js';

const CLIENT_ID = /^[\w.:-]{1,128}$/;

/** The id of a request whose client sent `sent` as its x-request-id (or nothing). */
export const requestIdFor = (sent: string | null | undefined): string => (sent && CLIENT_ID.test(sent) ? sent : randomUUID());

export function useRequestId(): Plugin {
  return {
    // Instrumentation wraps every request, before yoga's own stages (GraphiQL, for one) can answer it.
    instrumentation: {
      request({ request }, wrapped) {
        const sent = request.headers.get('x-request-id');
        openRequestScope(request, requestIdFor(sent));
        return wrapped();
      },
    },
    onResponse({ request, response }) {
      response.headers.set('x-request-id', scopeOf(request).requestId);
    },
  };
}
