/**
 * Which viewers sent a mutation within the last REPLICA_AFTER_WRITE_MS: their reads go to the primary meanwhile,
 * so a client reads its own writes although the replicas lag (src/plugins/use-read-routing.ts). Marked in
 * Redis, so the mark holds whichever instance the viewer's next request reaches, and in-process too, so the
 * instance that took the write needs no round trip to know it.
 *
 * While Redis is down a viewer not marked here cannot be told apart from one marked on another instance: every
 * signed-in read then goes to the primary, which is always right, only busier. Anonymous reads cannot follow a
 * write (a mutation needs a viewer) and keep to the replicas.
 */
import { LRUCache } from 'lru-cache';
import { failover, type FallbackHooks } from './fallback.js';
import type { SharedRedis } from './redis.js';

export interface RecentWriters {
  /** Resolves once the mark is kept: before the write it precedes commits. */
  mark(viewerId: number): Promise<void>;
  /** Whether the viewer may have written within the window. */
  has(viewerId: number): Promise<boolean>;
}

/** The in-process marks; on their own, the store of a single process (no REDIS_URL). */
export function memoryRecentWriters({ windowMs, maxEntries }: { windowMs: number; maxEntries: number }): RecentWriters {
  const marks = new LRUCache<number, true>({ max: maxEntries, ttl: windowMs });
  return {
    mark(viewerId) {
      marks.set(viewerId, true);
      return Promise.resolve();
    },
    has: (viewerId) => Promise.resolve(marks.has(viewerId)),
  };
}

export function redisRecentWriters(
  redis: SharedRedis,
  hooks: FallbackHooks,
  { prefix, windowMs, maxEntries }: { prefix: string; windowMs: number; maxEntries: number },
): RecentWriters {
  const local = memoryRecentWriters({ windowMs, maxEntries });
  const route = failover(hooks);
  return {
    async mark(viewerId) {
      await local.mark(viewerId);
      // Dropped while Redis is down: every instance then sends signed-in reads to the primary anyway.
      await route(
        async () => void (await redis.set(prefix + viewerId, '1', 'PX', windowMs)),
        () => Promise.resolve(),
      );
    },
    async has(viewerId) {
      if (await local.has(viewerId)) return true;
      return route(
        async () => (await redis.exists(prefix + viewerId)) === 1,
        () => Promise.resolve(true),
      );
    },
  };
}
