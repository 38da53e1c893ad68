/**
 * The real server over a test database, driven through yoga.fetch (the same handler node:http serves).
 */
import { randomUUID } from 'node:crypto';
import { createTokenVerifier, signToken } from '../../src/auth/jwt.js';
import { createClientAddress, type ClientAddress } from '../../src/client-address.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createEventBus, type EventBus } from '../../src/events.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createServer, type TallyServer } from '../../src/server.js';
import { memoryCostBucket, type CostBucket } from '../../src/store/cost-bucket.js';
import { createPenaltyBox, type PenaltyBox } from '../../src/penalty-box.js';
import { openRedis } from '../../src/store/redis.js';
import { sharedCostBucket } from '../../src/store/shared-cost-bucket.js';
import { memoryDocumentStore, redisDocumentStore, type DocumentStore } from '../../src/store/document-store.js';
import { createTestDatabase, type TestDatabase } from './database.js';

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

export interface TestServer extends TestDatabase {
  readonly yoga: TallyServer;
  readonly config: Config;
  /** Where refused clients wait before admission, once the server is on a socket (helpers/http.ts). */
  readonly penaltyBox: PenaltyBox;
  /** Who an anonymous client is, for the budget and (on a socket) the penalty box alike, as main.ts shares it. */
  readonly clientAddress: ClientAddress;
  /** The bus mutations publish to: tests subscribe to see what was told. */
  readonly events: EventBus;
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
 * The stores main.ts builds: Redis when REDIS_URL is set (under a prefix of this server's own, so test files
 * running at once never share a budget or a registration, unless two servers are given one prefix to share)
 * behind the same fallbacks and leases; the in-process twins alone otherwise. Tests that close a server to make
 * its database fail thus still meet a budget stage that answers.
 * Await `ready` before the first request: the client queues nothing while it connects (no offline queue).
 * (test/integration/cost-bucket.test.ts and shared-budget.test.ts test Redis itself, without the fallback.)
 */
export function testStores(config: Config, prefix = `tally:test:${randomUUID()}:`): {
  bucket: CostBucket;
  documents: DocumentStore;
  ready: Promise<void>;
  close(): Promise<void>;
} {
  const url = process.env['REDIS_URL'];
  if (!url) {
    return {
      bucket: memoryCostBucket(),
      documents: memoryDocumentStore({ ttlSeconds: config.persisted.apqTtlSeconds, maxDocuments: config.persisted.apqMaxDocuments }),
      ready: Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }
  const redis = openRedis(url);
  const quiet = { onUnavailable: () => {}, onRecovered: () => {} };
  const bucket = sharedCostBucket(redis, quiet, { prefix: `${prefix}cost:` });
  return {
    bucket,
    documents: redisDocumentStore(redis, quiet, { ttlSeconds: config.persisted.apqTtlSeconds, prefix: `${prefix}apq:` }),
    ready: redis.connect(),
    close: async () => {
      await bucket.close();
      redis.disconnect();
    },
  };
}

export interface TestServerOptions {
  /** Servers given the same prefix share their Redis stores (budgets, registrations), as instances do. */
  readonly redisPrefix?: string;
}

export async function startTestServer(env: Record<string, string> = {}, logger?: Logger, options: TestServerOptions = {}): Promise<TestServer> {
  const config = loadConfig({ NODE_ENV: 'test', ...UNLIMITED_BUDGETS, ...env });
  const testDb = await createTestDatabase();
  const log = logger ?? createLogger(config);
  const events = createEventBus(log);
  const store = testStores(config, options.redisPrefix);
  await store.ready;
  const penaltyBox = createPenaltyBox();
  const clientAddress = createClientAddress(config.trustedProxies, config.anonymousIpv6Prefix);
  const yoga = createServer({
    config,
    database: testDb.database,
    logger: log,
    verifyToken: createTokenVerifier(config.jwt),
    events,
    costBucket: store.bucket,
    documentStore: store.documents,
    penaltyBox,
    clientAddress,
  });
  const fetch = (path: string, init?: RequestInit) => Promise.resolve(yoga.fetch(new Request(`http://localhost${path}`, init)));
  const tokenFor = (userId: number, expiresIn?: string) => signToken(config.jwt, userId, expiresIn);
  return {
    ...testDb,
    async close() {
      await store.close();
      await testDb.close();
    },
    yoga,
    config,
    penaltyBox,
    clientAddress,
    events,
    fetch,
    tokenFor,
    async graphql<T>(query: string, options: RequestOptions = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...options.headers };
      if (options.as !== undefined) headers['authorization'] = `Bearer ${await tokenFor(options.as)}`;
      if (options.authorization !== undefined) headers['authorization'] = options.authorization;
      const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables: options.variables }) });
      return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse<T>['body'] };
    },
  };
}
