/**
 * Only the routes Tally serves are answered (src/request/routes.ts): an unknown path is 404, a method the path
 * does not answer 405. The node:http front refuses these before yoga (src/http/route.ts); this stage holds the
 * same rule for requests that reach yoga directly (yoga.fetch), where yoga on its own would also run GraphQL for
 * `/graphql/` and paths that merely end in `/graphql` (`/x/graphql`).
 */
import type { Plugin } from 'graphql-yoga';
import { routeRefusal } from '../request/routes.js';

export function useKnownPaths(): Plugin {
  return {
    onRequest(event) {
      const refusal = routeRefusal(event.request.method, event.url.pathname);
      if (!refusal) return;
      const { status, code, message, headers } = refusal;
      event.endResponse(Response.json({ errors: [{ message, extensions: { code } }] }, { status, headers }));
    },
  };
}
