/**
 * Everything Tally keeps outside PostgreSQL, built one way for the process (main.ts) and the tests: over Redis
 * when there is one, each use behind its own breaker that degrades as that use should (src/store/outage.ts),
 * the in-process twins otherwise. The caches over them are built in src/cache/caches.ts.
 */
import type { Config } from '../config.js';
import { memoryCostBucket, type CostBucket } from './cost-bucket.js';
import { memoryDocumentStore, redisDocumentStore, type DocumentStore } from './document-store.js';
import { MEANWHILE, type OutageHooks } from './outage.js';
import { memoryResponseStore, redisResponseStore, type ResponseStore } from './response-store.js';
import { sharedCostBucket } from './shared-cost-bucket.js';
import { memoryRecentWriters, redisRecentWriters, type RecentWriters } from './recent-writers.js';
import { memoryValueStore, redisValueStore, type ValueStore } from './value-store.js';
import type { SharedRedis } from './redis.js';
import type { ReadinessCheck } from '../observability/readiness.js';

export interface Stores {
  /** Every client's cost budget. */
  readonly costBucket: CostBucket;
  /** Automatic persisted queries, registered by clients. */
  readonly documents: DocumentStore;
  readonly responses: ResponseStore;
  /** Rows kept by cache-aside. */
  readonly values: ValueStore;
  /** Viewers who wrote within REPLICA_AFTER_WRITE_MS; only with read replicas and a window. */
  readonly writers: RecentWriters | undefined;
  /** What /readyz reports of them: Redis, when there is one, as a check that degrades rather than fails. */
  readonly readiness: readonly ReadinessCheck[];
  /** Gives leased budget points back (before Redis closes). */
  close(): Promise<void>;
}

/** Every Redis key of a Tally deployment starts with this. */
export const REDIS_PREFIX = 'tally:';

/** Where each store keeps its keys under a prefix; one hash tag for all of the response cache's (its scripts touch an entry and its tags' lists together). */
export const keyPrefixes = (prefix = REDIS_PREFIX) => ({
  cost: `${prefix}cost:`,
  documents: `${prefix}apq:`,
  responses: `${prefix}{cache}:`,
  users: `${prefix}users:`,
  writers: `${prefix}wrote:`,
});

export interface StoreOptions {
  readonly hooks: OutageHooks;
  /** Every key starts with it; tests give each server its own. */
  readonly prefix?: string;
}

export function openStores(config: Config, redis: SharedRedis | undefined, { hooks, prefix = REDIS_PREFIX }: StoreOptions): Stores {
  const { apqTtlSeconds: ttlSeconds, apqMaxDocuments: maxDocuments } = config.persisted;
  const { maxEntries } = config.cache;
  const database = config.database;
  const windowMs = database.kind === 'postgres' && database.replicaUrls.length > 0 ? database.afterWriteMs : 0;
  if (!redis) {
    return {
      costBucket: memoryCostBucket(),
      documents: memoryDocumentStore({ ttlSeconds, maxDocuments }),
      responses: memoryResponseStore({ maxEntries }),
      values: memoryValueStore({ maxEntries }),
      writers: windowMs > 0 ? memoryRecentWriters({ windowMs, maxEntries }) : undefined,
      readiness: [],
      close: () => Promise.resolve(),
    };
  }
  const outage = (use: keyof typeof MEANWHILE) => hooks(use, MEANWHILE[use]);
  // Redis down or slow: each process limits on its own (a client may spend its budget once per instance)
  // rather than failing requests; back to the shared budget when Redis answers.
  const prefixes = keyPrefixes(prefix);
  const costBucket = sharedCostBucket(redis, outage('cost'), { prefix: prefixes.cost });
  return {
    costBucket,
    documents: redisDocumentStore(redis, outage('documents'), { ttlSeconds, prefix: prefixes.documents }),
    responses: redisResponseStore(redis, outage('responses'), { prefix: prefixes.responses }),
    values: redisValueStore(redis, outage('users'), { prefix: prefixes.users }),
    writers: windowMs > 0 ? redisRecentWriters(redis, outage('writers'), { prefix: prefixes.writers, windowMs, maxEntries }) : undefined,
    readiness: [{ name: 'redis', check: async () => void (await redis.ping()), degrades: true }],
    close: () => costBucket.close(),
  };
}
