/**
 * The request path, in the order a request meets it:
 *
 *   HTTP (node:http, main.ts) → graphql-yoga at /graphql            src/server.ts (this file)
 *     → request id + request scope (x-request-id)                    src/plugins/use-request-id.ts
 *     → /healthz, /readyz                                            src/plugins/use-health.ts
 *     → auth: Bearer JWT → viewer; bad token = 401                   src/plugins/use-auth.ts, src/auth/jwt.ts
 *     → parse + validate (yoga's caches) → execute
 *         Pothos schema, thin resolvers                              src/schema/<type>.ts
 *         per-request DataLoaders                                    src/context.ts, src/loaders/
 *         named queries, keyset pages                                src/db/queries/, src/db/keyset.ts
 *     → drizzle → pg Pool (→ PgBouncer) → PostgreSQL, or PGlite      src/db/client.ts
 *     → masked errors: only errors marked safe show their message    maskError below
 *
 * The plugin list below is that order; each stage is one file.
 */
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, maskError as yogaMaskError, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import type { Config } from './config.js';
import { createContext, type Context } from './context.js';
import type { Database } from './db/client.js';
import type { Logger } from './logger.js';
import type { VerifyToken } from './auth/jwt.js';
import { useAuth } from './plugins/use-auth.js';
import { useHealth, type ReadinessCheck } from './plugins/use-health.js';
import { useRequestId } from './plugins/use-request-id.js';
import { requestScope } from './request-scope.js';
import { schema } from './schema/index.js';

export interface ServerOptions {
  readonly config: Config;
  readonly database: Database;
  readonly logger: Logger;
  readonly verifyToken: VerifyToken;
  /** Extra readiness checks beyond the database (Redis, when configured). */
  readonly readinessChecks?: readonly ReadinessCheck[];
  /** Pre-filled in GraphiQL's headers outside production, so a newcomer explores as the demo user. */
  readonly graphiqlToken?: string | undefined;
}

export type TallyServer = YogaServerInstance<Record<string, unknown>, Context>;

const EXAMPLE_QUERY = `# Tally. Press the run button: you are the demo user
# (see the Authorization header below).
# Page on with posts(first: 5, after: "<endCursor>").
{
  viewer { username balance { amount currency } }
  posts(first: 5) {
    edges {
      cursor
      node { id body createdAt author { username name } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`;

export function createServer(options: ServerOptions): TallyServer {
  const { config, database, logger } = options;
  const production = config.env === 'production';

  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: logger,
    // Browsers on other origins are not a client yet; GraphiQL is served from this origin.
    cors: false,
    // GraphiQL's code is served from the npm package, not a CDN: it works offline and under a strict CSP.
    renderGraphiQL,
    graphiql: production
      ? false
      : {
          title: 'Tally',
          defaultQuery: EXAMPLE_QUERY,
          headers: options.graphiqlToken ? JSON.stringify({ Authorization: `Bearer ${options.graphiqlToken}` }, null, 2) : undefined,
        },
    maskedErrors: {
      // Never attach the original error (yoga does in development): a client never sees a stack trace.
      maskError(error, message) {
        const masked = yogaMaskError(error, message, false);
        if (masked instanceof GraphQLError && masked.extensions['code'] === 'INTERNAL_SERVER_ERROR') {
          const requestId = requestScope.getStore()?.requestId;
          logger.error({ err: error instanceof GraphQLError ? (error.originalError ?? error) : error, requestId }, 'unexpected error');
          return new GraphQLError(`${message} Quote request id ${requestId ?? 'unknown'} when reporting it.`, {
            nodes: masked.nodes,
            path: masked.path,
            extensions: { ...masked.extensions, requestId },
          });
        }
        // Errors raised while resolving that carry no code are Pothos' own argument checks (a malformed global ID,
        // an ID of the wrong type): the client's to fix, so they get the code that says so.
        if (masked instanceof GraphQLError && masked.path && masked.extensions['code'] === undefined) {
          return new GraphQLError(masked.message, {
            nodes: masked.nodes,
            source: masked.source,
            positions: masked.positions,
            path: masked.path,
            originalError: masked.originalError,
            extensions: { ...masked.extensions, code: 'BAD_USER_INPUT' },
          });
        }
        return masked;
      },
    },
    context: createContext(database.db),
    plugins: [
      useRequestId(),
      useHealth([{ name: 'database', check: () => database.ping() }, ...(options.readinessChecks ?? [])]),
      useAuth(options.verifyToken),
    ],
  });
}
