/**
 * The request path, in the order a request meets it:
 *
 *   HTTP (node:http): request and headers timeouts, parser refusals  src/http/node-server.ts
 *     → route, from the path alone: bad target or Host 400, unknown  src/http/route.ts, src/request/routes.ts
 *       path 404, wrong method 405; everything after sees it
 *     → compression: JSON answers ≥ 1 KB in br or gzip as the       src/http/compression.ts, src/request/content-coding.ts
 *       client prefers (Vary: Accept-Encoding, an ETag per coding)
 *     → JSON body (100 KB, 413; bytes in flight, 429/503)              src/http/body.ts, src/http/body-budget.ts
 *     → penalty box (a refused client asking again too soon waits)   src/http/penalty-box.ts
 *     → cached GET: a kept answer, or 304, before any GraphQL         src/http/cached-get.ts, src/cache/
 *     → admission (so many at once, FIFO)                            src/http/admission.ts
 *     → prepared lane: a trusted operation by id runs here, on the   src/http/prepared-lane.ts, src/persisted/prepared.ts
 *       same rules as the stages below, prepared at start
 *     → graphql-yoga at /graphql                                     src/server.ts (this file)
 *     → request id + request scope (x-request-id)                    src/plugins/use-request-id.ts
 *     → unknown paths: 404, wrong methods 405 (yoga.fetch)           src/plugins/use-known-paths.ts
 *     → request log line + metrics, /metrics                         src/plugins/use-observability.ts, src/observability/metrics.ts
 *     → /healthz, /readyz                                            src/plugins/use-health.ts
 *     → only JSON POST bodies (CSRF); GET queries only if allowed    src/plugins/use-request-policy.ts
 *     → parameters read: GET query string, POST JSON; malformed 400  src/plugins/use-request-params.ts, src/request/
 *     → auth: Bearer JWT → viewer; bad token = 401                   src/plugins/use-auth.ts, src/auth/jwt.ts
 *     → static limits: batch, document length, string variables,     src/plugins/use-operation-limits.ts, src/limits/
 *       tokens (parse), depth, aliases, directives, root fields,
 *       introspection (before validation)
 *     → persisted operations: id → trusted document (manifests),     src/plugins/use-persisted-operations.ts,
 *       APQ hash → registered document (Redis); trusted mode          src/persisted/, src/store/document-store.ts
 *       refuses any other document
 *     → parse + validate (yoga's caches); operation types the       src/plugins/use-known-operation-types.ts
 *       schema has no root for fail validation
 *     → variables coerced by graphql-js (clear messages)             src/plugins/use-variable-coercion.ts
 *     → cost: priced (≤ MAX_COST), charged to the client's bucket     src/plugins/use-cost-budget.ts, src/cost/,
 *       (Redis, or in-process), 429 when short; refunded to the      src/store/cost-bucket.ts
 *       actual cost after; extensions.cost, RateLimit-* headers
 *     → execute, compiled by graphql-jit
 *         Pothos schema, thin resolvers                              src/schema/<type>.ts
 *         per-request DataLoaders                                    src/context.ts, src/loaders/
 *         lookahead joins (posts with their authors, one statement)  src/schema/selection.ts
 *         named queries, keyset pages                                src/db/queries/, src/db/keyset.ts
 *         mutations: zod-checked input, typed errors                 src/schema/*-mutations.ts
 *         money: idempotency key + locked accounts, one transaction  src/ledger/
 *         events published after commit                              src/events.ts
 *     → drizzle → pg Pool (→ PgBouncer) → PostgreSQL, or PGlite      src/db/client.ts
 *     → masked errors: only errors marked safe show their message;    src/request/mask-error.ts
 *       the others are logged and quote the request id
 *     → at most MAX_ERRORS errors; no "Did you mean" in production    src/plugins/use-error-limit.ts, use-no-suggestions.ts
 *     → response cache: a GET miss's answer kept, with its headers   src/plugins/use-response-cache.ts
 *       (Cache-Control, ETag, Vary, X-Cache); writes drop what they
 *       changed (src/cache/tags.ts), in Redis for every instance
 *
 * The plugin list below is that order; each stage is one file.
 */
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config.js';
import { contextFactory, type Context } from './context.js';
import type { Database } from './db/client.js';
import type { DomainEvent, EventBus } from './events.js';
import type { Logger } from './observability/logger.js';
import type { VerifyToken } from './auth/jwt.js';
import { useAuth } from './plugins/use-auth.js';
import { useHealth } from './plugins/use-health.js';
import type { ReadinessCheck } from './observability/readiness.js';
import { useKnownPaths } from './plugins/use-known-paths.js';
import { useRequestParams } from './plugins/use-request-params.js';
import { useKnownOperationTypes } from './plugins/use-known-operation-types.js';
import { GRAPHQL_PATH, UNQUEUED_PATHS } from './request/routes.js';
import { withRoute } from './http/route.js';
import { createBodyBudget } from './http/body-budget.js';
import { useRequestId } from './plugins/use-request-id.js';
import { createMaskError } from './request/mask-error.js';
import { useMaskedErrorReport } from './plugins/use-masked-error-report.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { useObservability } from './plugins/use-observability.js';
import { useVariableCoercion } from './plugins/use-variable-coercion.js';
import { schema } from './schema/index.js';
import { createClientAddress, type ClientAddress } from './request/client-address.js';
import { createBudget } from './cost/charge.js';
import { createCostModel } from './cost/estimate.js';
import { useCostBudget } from './plugins/use-cost-budget.js';
import { useErrorLimit } from './plugins/use-error-limit.js';
import { useNoSuggestions } from './plugins/use-no-suggestions.js';
import { useOperationLimits } from './plugins/use-operation-limits.js';
import { usePersistedOperations } from './plugins/use-persisted-operations.js';
import { loadTrustedDocuments, type TrustedDocuments } from './persisted/trusted-documents.js';
import { memoryDocumentStore, type DocumentStore } from './store/document-store.js';
import { useRequestPolicy } from './plugins/use-request-policy.js';
import type { CostBucket } from './store/cost-bucket.js';
import { withPenaltyBox } from './http/penalty-box.js';
import { createPenaltyBox, type PenaltyBox } from './store/penalty-box.js';
import { withAdmission, type Handler } from './http/admission.js';
import { withPreparedLane } from './http/prepared-lane.js';
import { prepareTrustedOperations } from './persisted/prepared.js';
import { withParsedJsonBody } from './http/body.js';
import { withCompression } from './http/compression.js';
import { frontRefusals } from './http/errors.js';
import { withCachedGet } from './http/cached-get.js';
import type { ResponseCache } from './cache/response-cache.js';
import type { RecentWriters } from './store/recent-writers.js';
import type { UserCache } from './cache/user-cache.js';
import { useReadRouting } from './plugins/use-read-routing.js';
import { readRouting } from './request/read-routing.js';
import { scopeOf } from './request/scope.js';
import { useResponseCache } from './plugins/use-response-cache.js';
import { useTracing } from './plugins/use-tracing.js';
import type { RequestListener } from 'node:http';

export interface ServerOptions {
  readonly config: Config;
  readonly database: Database;
  readonly logger: Logger;
  readonly verifyToken: VerifyToken;
  /** Where mutations publish what they committed. */
  readonly events: EventBus;
  /** Extra readiness checks beyond the database (Redis, when configured). */
  readonly readinessChecks?: readonly ReadinessCheck[];
  /** Pre-filled in GraphiQL's headers outside production, so a newcomer explores as the demo user. */
  readonly graphiqlToken?: string | undefined;
  /** Every client's cost budget: Redis shared by all instances, or the in-process twin. */
  readonly costBucket: CostBucket;
  /** The process's metrics; one registry per server when not given. */
  readonly metrics?: Metrics;
  /** Where refused clients wait before admission (src/http/penalty-box.ts); main.ts puts it in front of admission. */
  readonly penaltyBox?: PenaltyBox;
  /** Who an anonymous client is; main.ts hands the box in front the same one. Built from the config when not given. */
  readonly clientAddress?: ClientAddress;
  /** The trusted documents; read from the config's manifests when not given. */
  readonly trustedDocuments?: TrustedDocuments;
  /** Where automatic persisted queries are registered: Redis shared by all instances, or in-process when not given. */
  readonly documentStore?: DocumentStore;
  /** Answers of queries over GET (src/cache/); no response cache when not given or RESPONSE_CACHE=false. */
  readonly responseCache?: ResponseCache;
  /** Users by id behind the loader (src/cache/user-cache.ts); none when not given. */
  readonly userCache?: UserCache;
  /** With read replicas, viewers who just wrote (src/store/recent-writers.ts); not given: no window after a write. */
  readonly recentWriters?: RecentWriters | undefined;
  /** OpenTelemetry is on (src/observability/tracing.ts): a span per execution (src/plugins/use-tracing.ts). */
  readonly tracing?: boolean;
}

export type TallyServer = YogaServerInstance<Record<string, unknown>, Context>;

/** yoga, for yoga.fetch and its stages, and the node:http stack main.ts serves with it in front. */
export interface Tally {
  readonly yoga: TallyServer;
  readonly listener: RequestListener;
  /**
   * Drops from the caches what a committed write changed: after each mutation's publish, and again when the
   * outbox relay hands the event on (src/outbox/relay.ts), so a crash between the commit and the publish cannot
   * leave a stale answer until its TTL.
   */
  readonly dropChanged: (event: DomainEvent) => Promise<void>;
}

/** The schema's prices, sized once: the budget stage and the cached-GET front price with the same model. */
const costModel = createCostModel(schema);

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

export function createTally(options: ServerOptions): Tally {
  const { config, database, logger } = options;
  const { limits, hardening } = config;
  const responseCache = config.cache.responses ? options.responseCache : undefined;
  // The N+1 baseline (UNBATCHED_LOADERS) measures every user read reaching PostgreSQL: no cache in front of it.
  const userCache = config.unbatchedLoaders ? undefined : options.userCache;
  const dropChanged = async (event: DomainEvent) => {
    await Promise.all([responseCache?.invalidate(event), event.type === 'user.signedUp' ? userCache?.forget([event.userId]) : undefined]);
  };
  // A committed write drops the cached answers it changed before its mutation answers (src/events.ts).
  options.events.subscribe(dropChanged);
  const routing = database.replicated ? readRouting(options.recentWriters) : undefined;
  const yogaRouting = routing ? useReadRouting(routing) : undefined;
  const buildContext = contextFactory(database, { batch: !config.unbatchedLoaders, users: userCache, events: options.events, maxAmountMajor: config.maxMoneyAmount });
  const metrics = options.metrics ?? createMetrics(database.pool);
  const maskError = createMaskError();
  const penaltyBox = options.penaltyBox ?? createPenaltyBox();
  const clientAddress = options.clientAddress ?? createClientAddress(config.trustedProxies, config.anonymousIpv6Prefix);
  const trusted = options.trustedDocuments ?? loadTrustedDocuments(config.persisted.manifests);
  const documentStore = options.documentStore ?? memoryDocumentStore({ ttlSeconds: config.persisted.apqTtlSeconds, maxDocuments: config.persisted.apqMaxDocuments });
  const budget = config.disabledStages.has('budget') ? undefined : createBudget({ bucket: options.costBucket, policies: config.budget, clientAddress, penaltyBox });
  const documentLimits = { limits, introspection: hardening.introspection, details: hardening.limitDetails };

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // yoga logs every error its mask replaces, at error level and without the request id: client errors
    // (a malformed ID) as much as bugs. useMaskedErrorReport logs the unexpected ones with the request id, so
    // yoga's copies go to debug instead of doubling every error line.
    logging: { debug: logger.debug.bind(logger), info: logger.info.bind(logger), warn: logger.warn.bind(logger), error: logger.debug.bind(logger) },
    // Browsers on other origins are not a client yet; GraphiQL is served from this origin.
    cors: false,
    // No upload types in the schema: a multipart or form body is an unsupported media type (415).
    multipart: false,
    // GraphiQL's code is served from the npm package, not a CDN: it works offline and under a strict CSP.
    renderGraphiQL,
    graphiql: !hardening.graphiql
      ? false
      : {
          title: 'Tally',
          defaultQuery: EXAMPLE_QUERY,
          headers: options.graphiqlToken ? JSON.stringify({ Authorization: `Bearer ${options.graphiqlToken}` }, null, 2) : undefined,
        },
    maskedErrors: { maskError },
    // Tally's own stage refuses a batch first, with its code; this only sets yoga's parser to accept one.
    batching: limits.maxBatchOperations > 0 ? { limit: limits.maxBatchOperations } : false,
    context: ({ request, params }) => {
      const scope = scopeOf(request);
      const idempotencyKey = request.headers.get('idempotency-key');
      if (!yogaRouting) return buildContext(scope, idempotencyKey, 'primary');
      const target = yogaRouting.rule.targetOf(yogaRouting.typeOf(params), scope.viewer);
      return typeof target === 'string' ? buildContext(scope, idempotencyKey, target) : target.then((chosen) => buildContext(scope, idempotencyKey, chosen));
    },
    plugins: [
      useRequestId(),
      useKnownPaths(),
      useMaskedErrorReport(logger),
      useErrorLimit(limits.maxErrors),
      ...(hardening.fieldSuggestions ? [] : [useNoSuggestions()]),
      useObservability(metrics, logger, GRAPHQL_PATH),
      useHealth([{ name: 'database', check: () => database.ping() }, ...(options.readinessChecks ?? [])]),
      useRequestPolicy({ graphqlEndpoint: GRAPHQL_PATH, getQueries: hardening.getQueries }),
      useRequestParams(),
      useAuth(options.verifyToken),
      ...(yogaRouting ? [yogaRouting.plugin] : []),
      // Before the persisted stage: a document sent to be registered is held to the length limit first.
      ...(config.disabledStages.has('limits') ? [] : [useOperationLimits(documentLimits)]),
      usePersistedOperations({ mode: config.persisted.mode, trusted, registered: documentStore }),
      useKnownOperationTypes(),
      useVariableCoercion(),
      ...(budget ? [useCostBudget({ model: costModel, budget, maxCost: limits.maxCost })] : []),
      // Compiles each distinct document to a function once: the largest single lever on execution time.
      useGraphQlJit(),
      // After the JIT: its span wraps the compiled execution.
      ...(options.tracing ? [useTracing()] : []),
      ...(responseCache ? [useResponseCache(responseCache, GRAPHQL_PATH)] : []),
    ],
  });

  // The node:http stack in front of yoga, in the order a request meets it (the map at the top of this file).
  let inner: Handler = yoga;
  if (!config.disabledStages.has('lane')) {
    const prepared = prepareTrustedOperations(trusted, schema, documentLimits);
    inner = withPreparedLane(yoga, {
      graphqlEndpoint: GRAPHQL_PATH,
      prepared,
      schema,
      verifyToken: options.verifyToken,
      limits,
      variableLimits: !config.disabledStages.has('limits'),
      limitDetails: hardening.limitDetails,
      budget,
      costModel,
      buildContext,
      routing,
      maskError,
      cached: (operation) => responseCache !== undefined && responseCache.policyFor(operation.text, operation.name) !== undefined,
      tracing: Boolean(options.tracing),
      logger,
      metrics,
    });
  }
  const refuse = frontRefusals({ logger, metrics });
  const admitted = withAdmission(inner, { limit: config.maxConcurrentRequests, exempt: UNQUEUED_PATHS });
  const cached = responseCache
    ? withCachedGet(admitted, {
        cache: responseCache,
        graphqlEndpoint: GRAPHQL_PATH,
        mode: config.persisted.mode,
        trusted,
        registered: documentStore,
        getQueries: hardening.getQueries,
        verifyToken: options.verifyToken,
        budget,
        costModel,
        maxCost: limits.maxCost,
        refuse,
      })
    : admitted;
  const held = withPenaltyBox(cached, { box: penaltyBox, clientAddress, exempt: UNQUEUED_PATHS, refuse });
  const bodyBudget = createBodyBudget({ total: config.http.bodyBytesInFlight, perClient: config.http.bodyBytesInFlightPerClient });
  return { yoga, listener: withRoute(withCompression(withParsedJsonBody(held, { budget: bodyBudget, clientAddress, refuse })), refuse), dropChanged };
}
