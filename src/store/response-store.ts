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
import { LRUCache } from 'lru-cache';
import { failover, type FallbackHooks } from './fallback.js';
import { unlinkByPrefix, type SharedRedis } from './redis.js';

/** Entries are bytes: a hit is written to the socket as it was read, never decoded and encoded again. */
export interface ResponseStore {
  get(key: string): Promise<Buffer | undefined>;
  /**
   * The count of drops so far, read by a miss before it runs; undefined while the store cannot say (keep nothing).
   * A miss is kept only if none of its tags was dropped after it: a write committed while it ran, on any
   * instance, may be missing from what it read.
   */
  generation(): Promise<number | undefined>;
  /** Keeps the entry under its tags unless one was dropped after generation `since`; resolves to whether it was kept. */
  set(key: string, value: Buffer, tags: readonly string[], ttlMs: number, since: number): Promise<boolean>;
  /** Deletes every entry listed under one of the tags; resolves to how many there were. */
  invalidate(tags: readonly string[]): Promise<number>;
}

/**
 * How long a drop is remembered for the misses that began before it: longer than any request may run (the
 * whole request within 30 s, a statement within its timeout), so no miss still running can miss it.
 */
const DROPS_REMEMBERED_MS = 60_000;

export function memoryResponseStore({ maxEntries }: { maxEntries: number }): ResponseStore {
  let drops = 0;
  const droppedAt = new LRUCache<string, number>({ max: maxEntries, ttl: DROPS_REMEMBERED_MS });
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
    generation: () => Promise.resolve(drops),
    set: (key, value, tags, ttlMs, since) => {
      if (tags.some((tag) => (droppedAt.get(tag) ?? 0) > since)) return Promise.resolve(false);
      entries.set(key, { value, tags }, { ttl: ttlMs });
      for (const tag of tags) {
        let keys = byTag.get(tag);
        if (!keys) byTag.set(tag, (keys = new Set()));
        keys.add(key);
      }
      return Promise.resolve(true);
    },
    invalidate: (tags) => {
      drops += 1;
      let dropped = 0;
      for (const tag of tags) {
        droppedAt.set(tag, drops);
        for (const key of [...(byTag.get(tag) ?? [])]) if (entries.delete(key)) dropped += 1;
      }
      return Promise.resolve(dropped);
    },
  };
}

/**
 * KEYS[1] the entry, KEYS[2..n+1] its tags' lists, KEYS[n+2..2n+1] when each tag was last dropped; ARGV the value,
 * its time to live in ms, the generation the miss began at, n. A tag's list is a sorted set scored by when each
 * entry expires, trimmed of expired ones whenever an entry joins it: a list lives only as long as its entries.
 */
const SET_SCRIPT = `
local n = tonumber(ARGV[4])
local since = tonumber(ARGV[3])
for i = 1, n do
  local dropped = redis.call('GET', KEYS[n + 1 + i])
  if dropped and tonumber(dropped) > since then return 0 end
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 2, n + 1 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  redis.call('ZADD', KEYS[i], now + ttl, KEYS[1])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
`;

/**
 * KEYS[1] the generation, KEYS[2..n+1] the tags' lists, KEYS[n+2..2n+1] when each was last dropped; ARGV n, and
 * how long a drop is remembered. Every entry listed goes, then the list; returns how many entries there were.
 */
const INVALIDATE_SCRIPT = `
local n = tonumber(ARGV[1])
local generation = redis.call('INCR', KEYS[1])
local dropped = 0
for i = 2, n + 1 do
  local entries = redis.call('ZRANGE', KEYS[i], 0, -1)
  for j = 1, #entries do dropped = dropped + redis.call('DEL', entries[j]) end
  redis.call('DEL', KEYS[i])
  redis.call('SET', KEYS[n + i], generation, 'PX', ARGV[2])
end
return dropped
`;

type ScriptedRedis = SharedRedis & {
  tallyCacheSet(...args: (string | number | Buffer)[]): Promise<number>;
  tallyCacheInvalidate(...args: (string | number)[]): Promise<number>;
};

export function redisResponseStore(redis: SharedRedis, hooks: FallbackHooks, { prefix }: { prefix: string }): ResponseStore {
  const scripted = redis as ScriptedRedis;
  if (!('tallyCacheSet' in redis)) {
    redis.defineCommand('tallyCacheSet', { lua: SET_SCRIPT });
    redis.defineCommand('tallyCacheInvalidate', { lua: INVALIDATE_SCRIPT });
  }
  const route = failover(hooks);
  /** Drops that could not reach Redis: until an emptying has finished after them, entries may be stale. */
  let lostDrops = 0;
  let emptying: Promise<void> | undefined;
  /** After lost drops, every lookup tries (one at a time, as the breaker allows) to empty the cache, until it has. */
  const usable = () => {
    if (lostDrops === 0) return true;
    emptying ??= route(
      async () => {
        const lost = lostDrops;
        await unlinkByPrefix(redis, prefix);
        // A drop lost while this ran is not covered by it: that one empties again.
        lostDrops -= lost;
      },
      () => Promise.resolve(),
    ).finally(() => (emptying = undefined));
    return false;
  };
  const entryKey = (key: string) => `${prefix}e:${key}`;
  const listKey = (tag: string) => `${prefix}t:${tag}`;
  const droppedKey = (tag: string) => `${prefix}d:${tag}`;
  const generationKey = `${prefix}generation`;
  return {
    get: (key) =>
      usable()
        ? route(
            async () => (await redis.getBuffer(entryKey(key))) ?? undefined,
            () => Promise.resolve(undefined),
          )
        : Promise.resolve(undefined),
    generation: () =>
      usable()
        ? route(
            async () => Number((await redis.get(generationKey)) ?? 0),
            () => Promise.resolve(undefined),
          )
        : Promise.resolve(undefined),
    set: (key, value, tags, ttlMs, since) =>
      usable()
        ? route(
            async () =>
              (await scripted.tallyCacheSet(1 + 2 * tags.length, entryKey(key), ...tags.map(listKey), ...tags.map(droppedKey), value, Math.max(1, Math.round(ttlMs)), since, tags.length)) === 1,
            () => Promise.resolve(false),
          )
        : Promise.resolve(false),
    invalidate: (tags) =>
      tags.length === 0
        ? Promise.resolve(0)
        : route(
            async () => Number(await scripted.tallyCacheInvalidate(1 + 2 * tags.length, generationKey, ...tags.map(listKey), ...tags.map(droppedKey), tags.length, DROPS_REMEMBERED_MS)),
            () => {
              lostDrops += 1;
              return Promise.resolve(0);
            },
          ),
  };
}
