/**
 * The shared Redis connection: one server (REDIS_URL), the primary a set of Sentinels names (REDIS_SENTINELS), or
 * a Redis Cluster (REDIS_CLUSTER_NODES). Whichever it is, commands fail fast while Redis is down (no offline
 * queue), so a caller can fall back instead of waiting; the client keeps reconnecting in the background.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config.js';

/**
 * What every store is given. Each sends only commands both kinds have, and a cluster's keys are named so that
 * every multi-key script keeps its keys in one hash slot (src/store/stores.ts, keyPrefixes).
 */
export type SharedRedis = Redis | Cluster;

const reconnectAfter = (attempt: number) => Math.min(attempt * 200, 2_000);

/** Per connection, whichever the kind. */
const FAIL_FAST = {
  // A healthy Redis answers a bucket script in well under 5 ms, even auto-pipelined under load; a reply not
  // back in 200 ms means a stalled or partitioned Redis, and every request would wait on it before falling
  // back. 200 ms is what the first requests of an outage pay before the fallback's breaker skips Redis; it
  // stays near the feed's p99 (135 ms) rather than multiplying it.
  commandTimeout: 200,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
} satisfies RedisOptions;

export function openRedis(target: string): Redis;
export function openRedis(target: string | RedisTarget): SharedRedis;
export function openRedis(target: string | RedisTarget): SharedRedis {
  const where: RedisTarget = typeof target === 'string' ? { kind: 'single', url: target } : target;
  const redis = where.kind === 'cluster' ? openCluster(where) : openServer(where);
  // Connection errors are reported through readiness; without a listener ioredis would print each retry.
  redis.on('error', () => {});
  return redis;
}

function openServer(where: Exclude<RedisTarget, { kind: 'cluster' }>): Redis {
  const options: RedisOptions = {
    ...FAIL_FAST,
    lazyConnect: true,
    enableOfflineQueue: false,
    // Commands issued in the same tick go out as one pipeline: concurrent requests share a round trip.
    enableAutoPipelining: true,
    retryStrategy: reconnectAfter,
  };
  if (where.kind === 'single') return new Redis(where.url, options);
  return new Redis({
    ...options,
    sentinels: where.sentinels.map(({ host, port }) => ({ host, port })),
    name: where.name,
    password: where.password,
    sentinelPassword: where.password,
    sentinelRetryStrategy: reconnectAfter,
    // A Sentinel that accepts the connection and never answers must not stall finding the primary.
    sentinelCommandTimeout: 500,
    // Told of a failover by the Sentinels (+switch-master) rather than only when the old primary's connection
    // drops: a primary demoted while still reachable answers every write READONLY until the client moves. The
    // detector's own link to the Sentinels comes back as soon as the rest (ioredis waits up to 60 s).
    failoverDetector: true,
    sentinelReconnectStrategy: reconnectAfter,
    // Should the detector miss the switch anyway: a READONLY reply means the primary was demoted, so reconnect
    // (asking the Sentinels again) rather than keep writing to a replica.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  });
}

function openCluster(where: Extract<RedisTarget, { kind: 'cluster' }>): Cluster {
  return new Cluster(
    where.nodes.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: reconnectAfter,
      // A master that restarts with its slots comes back to this client on its own, not only at the next slot refresh.
      clusterNodeRetryStrategy: reconnectAfter,
      // Redirections and retries while slots move or a master fails over: 3 of them, 100 ms apart, keep the
      // worst wait near a command timeout or two before the fallback takes over (ioredis' 16 could take 1.6 s).
      maxRedirections: 3,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: 1_000,
      redisOptions: { ...FAIL_FAST, password: where.password },
    },
  );
}

/**
 * Connects, waiting at most `ms`: resolves to undefined once connected, or to why not, while the client goes on
 * trying in the background. ioredis' own connect() may never settle: a Cluster whose first ready check finds the
 * cluster down, or Sentinels none of which answer, keep it pending until they recover, and a process waiting on
 * it would never listen although every store can serve without Redis.
 */
export async function connectWithin(redis: SharedRedis, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<Error>((resolve) => {
    timer = setTimeout(() => resolve(new Error(`not connected within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([redis.connect().then(() => undefined, (error: unknown) => error ?? new Error('connect failed')), waited]);
  } finally {
    clearTimeout(timer);
  }
}

/** The keys of one server that start with `prefix`, a batch at a time (SCAN, not KEYS: Redis keeps serving everyone else meanwhile). */
export function keysByPrefix(server: Redis, prefix: string): AsyncIterable<string[]> {
  return server.scanStream({ match: `${prefix}*`, count: 1_000 }) as AsyncIterable<string[]>;
}

/**
 * Deletes every key that starts with `prefix`, a batch at a time; resolves to how many there were. A cluster's keys are spread over its masters and SCAN walks
 * one server, so each master is walked; there one UNLINK per key, pipelined, since a command naming several
 * keys must keep to one slot and a master holds thousands.
 */
export async function unlinkByPrefix(redis: SharedRedis, prefix: string): Promise<number> {
  const cluster = redis instanceof Cluster;
  let removed = 0;
  for (const server of cluster ? redis.nodes('master') : [redis]) {
    for await (const keys of keysByPrefix(server, prefix)) {
      if (keys.length === 0) continue;
      if (!cluster) {
        removed += await server.unlink(...keys);
        continue;
      }
      const replies = (await server.pipeline(keys.map((key) => ['unlink', key])).exec()) ?? [];
      for (const [error, count] of replies) {
        if (error) throw error;
        removed += Number(count);
      }
    }
  }
  return removed;
}
