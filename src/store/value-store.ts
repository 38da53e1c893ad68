/**
 * Plain values by key, each kept for its own time: the store behind cache-aside rows (src/cache/user-cache.ts).
 * Redis, shared by every instance, or the in-process twin (bounded by count) without REDIS_URL. One command per
 * key, never a multi-key command, so the keys may spread over a Redis Cluster; ioredis' auto-pipelining still
 * sends a batch's commands in one round trip.
 *
 * While Redis is down the store is bypassed: every read misses (the rows come from PostgreSQL), writes and
 * deletes are dropped. A delete that was dropped could leave a stale row behind for its time to live; nothing
 * Tally keeps here is written after it is created (see the user cache), so that time is the bound.
 */
import { LRUCache } from 'lru-cache';
import { failover, type FallbackHooks } from './fallback.js';
import type { SharedRedis } from './redis.js';

export interface ValueStore {
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
}

export function memoryValueStore({ maxEntries }: { maxEntries: number }): ValueStore {
  const values = new LRUCache<string, string>({ max: maxEntries });
  return {
    getMany: (keys) => Promise.resolve(keys.map((key) => values.get(key))),
    set: (key, value, ttlMs) => {
      values.set(key, value, { ttl: ttlMs });
      return Promise.resolve();
    },
    delete: (keys) => {
      for (const key of keys) values.delete(key);
      return Promise.resolve();
    },
  };
}

export function redisValueStore(redis: SharedRedis, hooks: FallbackHooks, { prefix }: { prefix: string }): ValueStore {
  const route = failover(hooks);
  return {
    getMany: (keys) =>
      route(
        async () => (await Promise.all(keys.map((key) => redis.get(prefix + key)))).map((value) => value ?? undefined),
        () => Promise.resolve(keys.map(() => undefined)),
      ),
    set: (key, value, ttlMs) =>
      route(
        async () => void (await redis.set(prefix + key, value, 'PX', Math.max(1, Math.round(ttlMs)))),
        () => Promise.resolve(),
      ),
    delete: (keys) =>
      route(
        async () => void (await Promise.all(keys.map((key) => redis.del(prefix + key)))),
        () => Promise.resolve(),
      ),
  };
}
