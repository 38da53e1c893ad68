/**
 * Only the paths Tally serves are answered; anything else is 404. yoga on its own also runs GraphQL for
 * `/graphql/` and paths that merely end in `/graphql` (`/x/graphql`), which would bypass admission control and
 * the request log, both keyed on the exact path.
 */
import type { Plugin } from 'graphql-yoga';

export function useKnownPaths(paths: readonly string[]): Plugin {
  const known = new Set(paths);
  return {
    onRequest(event) {
      const { pathname } = event.url;
      if (known.has(pathname)) return;
      event.endResponse(
        Response.json(
          { errors: [{ message: `Nothing is served at ${pathname.slice(0, 100)}: GraphQL is at /graphql.`, extensions: { code: 'NOT_FOUND' } }] },
          { status: 404 },
        ),
      );
    },
  };
}
