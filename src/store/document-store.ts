/**
 * Where automatic persisted queries (APQ) are kept once a client has registered them: Redis, shared by every
 * instance, or the in-process twin without REDIS_URL. Both are bounded: Redis by time (each document expires
 * APQ_TTL_SECONDS after its registration; a client whose hash has expired registers it again), the twin by
 * time and by count (least recently used first). Documents are checked against their hash and the document
 * length limit before they get here (src/plugins/use-persisted-operations.ts).
 *
 * While Redis is down the store is bypassed, not replaced: a lookup misses and a registration is dropped, so an
 * APQ client sends its document with the hash again (which open mode runs), and trusted documents, which never
 * come from here, are served as always.
 */
import { LRUCache } from 'lru-cache';
import { failover, type FallbackHooks } from './fallback.js';
import type { SharedRedis } from './redis.js';

export interface DocumentStore {
  get(hash: string): Promise<string | undefined>;
  set(hash: string, document: string): Promise<void>;
}

export interface DocumentStoreOptions {
  readonly ttlSeconds: number;
  readonly maxDocuments: number;
}

export function memoryDocumentStore({ ttlSeconds, maxDocuments }: DocumentStoreOptions): DocumentStore {
  const documents = new LRUCache<string, string>({ max: maxDocuments, ttl: ttlSeconds * 1000 });
  return {
    get: (hash) => Promise.resolve(documents.get(hash)),
    set: (hash, document) => {
      documents.set(hash, document);
      return Promise.resolve();
    },
  };
}

export function redisDocumentStore(redis: SharedRedis, hooks: FallbackHooks, { ttlSeconds, prefix }: { ttlSeconds: number; prefix: string }): DocumentStore {
  const route = failover(hooks);
  return {
    get: (hash) =>
      route(
        async () => (await redis.get(prefix + hash)) ?? undefined,
        () => Promise.resolve(undefined),
      ),
    set: (hash, document) =>
      route(
        async () => void (await redis.set(prefix + hash, document, 'EX', ttlSeconds)),
        () => Promise.resolve(),
      ),
  };
}
