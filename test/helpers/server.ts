/**
 * The real server over a test database, driven through yoga.fetch (the same handler node:http serves).
 */
import type { RequestListener } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createTokenVerifier, signToken, type VerifyToken } from '../../src/auth/jwt.js';
import type { ResponseCache } from '../../src/cache/response-cache.js';
import { createClientAddress, type ClientAddress } from '../../src/request/client-address.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createEventBus, type EventBus } from '../../src/events.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { createPenaltyBox, type PenaltyBox } from '../../src/store/penalty-box.js';
import { loadTrustedDocuments, type TrustedDocuments } from '../../src/persisted/trusted-documents.js';
import { createTally, type Tally, type TallyServer } from '../../src/server.js';
import type { CostBucket } from '../../src/store/cost-bucket.js';
import type { DocumentStore } from '../../src/store/document-store.js';
import { outageHooks, type OutageHooks } from '../../src/store/outage.js';
import { connectWithin, openRedis } from '../../src/store/redis.js';
import { openStores, type Stores } from '../../src/store/stores.js';
import { createCaches } from '../../src/cache/caches.js';
import { schema } from '../../src/schema/index.js';
import { removeKeys } from './cost-buckets.js';
import { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from './database.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] };
}

export interface RequestOptions {
  variables?: Record<string, unknown>;
  /** A user id to sign a token for, or a raw Authorization header value. */
  as?: number;
  authorization?: string;
  headers?: Record<string, string>;
}

/** The POST server.graphql sends: JSON, accepting application/json, signed in as `options.as` or with `options.authorization`. */
export async function graphqlRequest(query: string, options: RequestOptions, tokenFor: (userId: number) => Promise<string>): Promise<RequestInit> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...options.headers };
  if (options.as !== undefined) headers['authorization'] = `Bearer ${await tokenFor(options.as)}`;
  if (options.authorization !== undefined) headers['authorization'] = options.authorization;
  return { method: 'POST', headers, body: JSON.stringify({ query, variables: options.variables }) };
}

export interface TestServer extends TestDatabase {
  readonly yoga: TallyServer;
  /** The node:http stack main.ts serves (src/server.ts createTally), for tests over a real socket (test/helpers/http.ts). */
  readonly listener: RequestListener;
  readonly config: Config;
  /** Where refused clients wait before admission, once the server is on a socket (helpers/http.ts). */
  readonly penaltyBox: PenaltyBox;
  /** Who an anonymous client is, for the budget and (on a socket) the penalty box alike, as main.ts shares it. */
  readonly clientAddress: ClientAddress;
  /** The bus mutations publish to: tests subscribe to see what was told. */
  readonly events: EventBus;
  readonly verifyToken: VerifyToken;
  readonly trustedDocuments: TrustedDocuments;
  readonly documentStore: DocumentStore;
  readonly responseCache: ResponseCache;
  readonly costBucket: CostBucket;
  readonly metrics: Metrics;
  /** What the outbox relay's cache consumer calls (src/server.ts Tally.dropChanged). */
  readonly dropChanged: Tally['dropChanged'];
  graphql<T = Record<string, unknown>>(query: string, options?: RequestOptions): Promise<GraphQLResponse<T>>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  tokenFor(userId: number, expiresIn?: string): Promise<string>;
}

/**
 * Budgets so large no test that is not about them runs out: every test file's anonymous requests come from one
 * client (yoga.fetch has no socket). Tests of the budget set their own.
 */
const UNLIMITED_BUDGETS = {
  COST_BUDGET_VIEWER: '100000000',
  COST_RESTORE_VIEWER: '100000000',
  COST_BUDGET_ANONYMOUS: '100000000',
  COST_RESTORE_ANONYMOUS: '100000000',
};

/**
 * The stores main.ts builds (openStores): over Redis when there is one (the options' own URL, the Sentinels or
 * cluster the test's environment names, or REDIS_URL), under a prefix of this server's own, so test files running
 * at once never share a budget, a registration or an answer, unless two servers are given one prefix to share;
 * the in-process twins otherwise. Tests that close a server to make its database fail thus still meet a budget
 * stage that answers.
 * (test/integration/cost-bucket.test.ts and shared-budget.test.ts test Redis itself, without the fallback.)
 */
async function testStores(config: Config, options: TestServerOptions, hooks: OutageHooks): Promise<Stores> {
  const target = options.redisUrl ?? config.redis ?? process.env['REDIS_URL'];
  if (!target) return openStores(config, undefined, { hooks });
  const prefix = options.redisPrefix ?? `tally:test:${randomUUID()}:`;
  const redis = openRedis(target);
  // The client queues nothing while it connects (no offline queue): connected before the first request, or
  // degraded from the start as main.ts would be when Redis is not there.
  await connectWithin(redis, 2_500);
  const stores = openStores(config, redis, { hooks, prefix });
  return {
    ...stores,
    async close() {
      await stores.close();
      await removeKeys(redis, prefix).catch(() => {}); // a test may have stopped its Redis
      redis.disconnect();
    },
  };
}

export interface TestServerOptions {
  /** Servers given the same prefix share their Redis stores (budgets, registrations, answers), as instances do. */
  readonly redisPrefix?: string;
  /** A Redis of the test's own (a private redis-server it stops and starts), instead of REDIS_URL's. */
  readonly redisUrl?: string;
  /** The pool's settings and route, for tests of database faults (PostgreSQL only). */
  readonly database?: TestDatabaseOptions;
  /** The cost budget's bucket instead of the stores' (a clock the test holds still, say). */
  readonly costBucket?: CostBucket;
}

export async function startTestServer(env: Record<string, string> = {}, logger?: Logger, options: TestServerOptions = {}): Promise<TestServer> {
  const config = loadConfig({ NODE_ENV: 'test', ...UNLIMITED_BUDGETS, ...env });
  const testDb = await createTestDatabase(options.database);
  const log = logger ?? createLogger(config);
  const events = createEventBus(log);
  const metrics = createMetrics(testDb.database.pool);
  const stores = await testStores(config, options, outageHooks(metrics, log));
  const { responseCache, userCache } = createCaches(config, stores, { metrics, database: testDb.database, schema });
  const penaltyBox = createPenaltyBox();
  const clientAddress = createClientAddress(config.trustedProxies, config.anonymousIpv6Prefix);
  const verifyToken = createTokenVerifier(config.jwt);
  const trustedDocuments = loadTrustedDocuments(config.persisted.manifests);
  const { yoga, listener, dropChanged } = createTally({
    config,
    database: testDb.database,
    logger: log,
    verifyToken,
    events,
    costBucket: options.costBucket ?? stores.costBucket,
    trustedDocuments,
    documentStore: stores.documents,
    responseCache,
    ...(userCache ? { userCache } : {}),
    recentWriters: stores.writers,
    readinessChecks: stores.readiness,
    metrics,
    penaltyBox,
    clientAddress,
  });
  const fetch = (path: string, init?: RequestInit) => Promise.resolve(yoga.fetch(new Request(`http://localhost${path}`, init)));
  const tokenFor = (userId: number, expiresIn?: string) => signToken(config.jwt, userId, expiresIn);
  return {
    ...testDb,
    async close() {
      await stores.close();
      await testDb.close();
    },
    yoga,
    listener,
    config,
    penaltyBox,
    clientAddress,
    events,
    verifyToken,
    trustedDocuments,
    documentStore: stores.documents,
    responseCache,
    costBucket: options.costBucket ?? stores.costBucket,
    metrics,
    dropChanged,
    fetch,
    tokenFor,
    async graphql<T>(query: string, options: RequestOptions = {}) {
      const response = await fetch('/graphql', await graphqlRequest(query, options, tokenFor));
      return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<T>['body'] };
    },
  };
}
