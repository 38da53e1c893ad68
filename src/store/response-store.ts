/**
 * Where cached answers live: Redis, shared by every instance (a write on one drops the answers of all), or the
 * in-process twin without REDIS_URL. Each entry is kept for its own time and listed under its tags; dropping a
 * tag deletes every entry listed under it, atomically in one Lua script. All keys share one hash tag, so the
 * scripts' keys sit in one slot of a Redis Cluster.
 *
 * While Redis is down the cache is bypassed, not replaced by the twin: an instance cannot hear the others'
 * writes meanwhile, so answers it kept for itself could be stale. Lookups miss, nothing is stored, and a write
 * whose drop could not be delivered is remembered: when Redis answers again this instance empties the cache
 * before using it, since an entry listed under that write's tags may have outlived it.
 */
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { failover, type FallbackHooks } from './fallback.js';

/** Entries are bytes: a hit is written to the socket as it was read, never decoded and encoded again. */
export interface ResponseStore {
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer, tags: readonly string[], ttlMs: number): Promise<void>;
  /** Deletes every entry listed under one of the tags; resolves to how many there were. */
  invalidate(tags: readonly string[]): Promise<number>;
}

export function memoryResponseStore({ maxEntries }: { maxEntries: number }): ResponseStore {
  const byTag = new Map<string, Set<string>>();
  const entries = new LRUCache<string, { value: Buffer; tags: readonly string[] }>({
    max: maxEntries,
    ttlAutopurge: false,
    // Evicted, expired or replaced: its key leaves the lists of its tags, so the lists stay as bounded as the entries.
    dispose: (entry, key) => {
      for (const tag of entry.tags) {
        const keys = byTag.get(tag);
        keys?.delete(key);
        if (keys?.size === 0) byTag.delete(tag);
      }
    },
  });
  return {
    get: (key) => Promise.resolve(entries.get(key)?.value),
    set: (key, value, tags, ttlMs) => {
      entries.set(key, { value, tags }, { ttl: ttlMs });
      for (const tag of tags) {
        let keys = byTag.get(tag);
        if (!keys) byTag.set(tag, (keys = new Set()));
        keys.add(key);
      }
      return Promise.resolve();
    },
    invalidate: (tags) => {
      let dropped = 0;
      for (const tag of tags) {
        for (const key of [...(byTag.get(tag) ?? [])]) if (entries.delete(key)) dropped += 1;
      }
      return Promise.resolve(dropped);
    },
  };
}

/** KEYS[1] the entry, KEYS[2..] its tags' lists; ARGV[1] the value, ARGV[2] its time to live in ms. */
const SET_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local ttl = tonumber(ARGV[2])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
`;

/** KEYS: the tags' lists. Every entry listed goes, then the list; returns how many entries there were. */
const INVALIDATE_SCRIPT = `
local dropped = 0
for i = 1, #KEYS do
  local entries = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #entries do dropped = dropped + redis.call('DEL', entries[j]) end
  redis.call('DEL', KEYS[i])
end
return dropped
`;

type ScriptedRedis = Redis & {
  tallyCacheSet(...args: (string | number | Buffer)[]): Promise<unknown>;
  tallyCacheInvalidate(...args: (string | number)[]): Promise<number>;
};

export function redisResponseStore(redis: Redis, hooks: FallbackHooks, { prefix }: { prefix: string }): ResponseStore {
  const scripted = redis as ScriptedRedis;
  if (!('tallyCacheSet' in redis)) {
    redis.defineCommand('tallyCacheSet', { lua: SET_SCRIPT });
    redis.defineCommand('tallyCacheInvalidate', { lua: INVALIDATE_SCRIPT });
  }
  const route = failover(hooks);
  let lostDrops = false;
  let emptying: Promise<void> | undefined;
  /** After lost drops, every lookup tries (one at a time, as the breaker allows) to empty the cache, until it has. */
  const usable = () => {
    if (!lostDrops) return true;
    emptying ??= route(
      async () => {
        // SCAN, not KEYS: the cache may hold many entries, and Redis must keep serving the other stores meanwhile.
        const stream = redis.scanStream({ match: `${prefix}*`, count: 1_000 });
        for await (const keys of stream as AsyncIterable<string[]>) if (keys.length > 0) await redis.unlink(...keys);
        lostDrops = false;
      },
      () => Promise.resolve(),
    ).finally(() => (emptying = undefined));
    return false;
  };
  const entryKey = (key: string) => `${prefix}e:${key}`;
  const tagKey = (tag: string) => `${prefix}t:${tag}`;
  return {
    get: (key) =>
      usable()
        ? route(
            async () => (await redis.getBuffer(entryKey(key))) ?? undefined,
            () => Promise.resolve(undefined),
          )
        : Promise.resolve(undefined),
    set: (key, value, tags, ttlMs) =>
      usable()
        ? route(
            async () => void (await scripted.tallyCacheSet(1 + tags.length, entryKey(key), ...tags.map(tagKey), value, Math.max(1, Math.round(ttlMs)))),
            () => Promise.resolve(),
          )
        : Promise.resolve(),
    invalidate: (tags) =>
      tags.length === 0
        ? Promise.resolve(0)
        : route(
            async () => Number(await scripted.tallyCacheInvalidate(tags.length, ...tags.map(tagKey))),
            () => {
              lostDrops = true;
              return Promise.resolve(0);
            },
          ),
  };
}
