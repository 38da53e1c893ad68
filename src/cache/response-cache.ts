/**
 * The response cache: answers of queries over GET, kept whole (the exact bytes sent) for the time their
 * `@cacheControl` hints allow, shared by everyone when PUBLIC and per viewer when PRIVATE, and dropped by the
 * writes that change them (src/cache/tags.ts). GET is the cacheable verb: a POST always runs, so the
 * uncached path stays what the `feed` load test measures.
 *
 * Two stages use it: the node:http front (src/http/cached-get.ts) answers hits and If-None-Match before yoga,
 * which is what makes a hit cheap; the yoga stage (src/plugins/use-response-cache.ts) keeps what a miss
 * answered. Concurrent misses of one key in this process wait for the first (a single flight), so a hot key
 * expiring under load costs PostgreSQL one query, not one per waiting request.
 */
import { createHash } from 'node:crypto';
import { parse } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { DomainEvent } from '../events.js';
import type { Metrics } from '../observability/metrics.js';
import type { ResponseStore } from '../store/response-store.js';
import { canonicalJson } from './canonical-json.js';
import type { CacheScope } from './directive.js';
import { cachePolicyOf, type CachePolicy } from './policy.js';
import { invalidatedBy } from './tags.js';

export interface CachedAnswer {
  /** UTF-8 JSON, as sent. */
  readonly body: Buffer;
  /** The sha256 of the body, from which each representation's ETag is made (etagOf). */
  readonly hash: string;
  readonly storedAt: number;
  readonly maxAge: number;
  readonly scope: CacheScope;
}

export interface ResponseCache {
  /** The policy of a document, or undefined when it may not be cached; remembered per document text. */
  policyFor(text: string, operationName: string | undefined): CachePolicy | undefined;
  keyOf(policy: CachePolicy, text: string, operationName: string | undefined, variables: unknown, viewerId: number | undefined): string;
  lookup(key: string): Promise<CachedAnswer | undefined>;
  /** Where a miss begins: the store's count of drops (src/store/response-store.ts); undefined keeps nothing. */
  begin(): Promise<number | undefined>;
  /**
   * Keeps a miss's answer unless one of its tags was dropped since it began (a write committed meanwhile, on
   * any instance); the answer, and whether it was kept.
   */
  keep(key: string, policy: CachePolicy, body: Buffer, tags: readonly string[], since: number | undefined): Promise<{ answer: CachedAnswer; kept: boolean }>;
  /** The answer of a miss of this key already running in this process, when there is one. */
  join(key: string): Promise<CachedAnswer | undefined> | undefined;
  /**
   * This request runs the miss others may join; `settle` ends it with its answer (undefined: none was kept, the
   * others run their own). The token makes sure a leader ends only its own flight, not a later one of its key.
   */
  lead(key: string): symbol;
  settle(key: string, answer: CachedAnswer | undefined, token?: symbol): void;
  /** Drops what a committed write changed (the event bus calls this before the mutation answers). */
  invalidate(event: DomainEvent): Promise<void>;
  readonly metrics: Metrics;
}

export interface ResponseCacheOptions {
  readonly schema: GraphQLSchema;
  readonly store: ResponseStore;
  readonly metrics: Metrics;
  /** Who follows a user (for the feeds a post changes): at most `limit` ids. */
  readonly followersOf: (userId: number, limit: number) => Promise<readonly number[]>;
}

/** Documents whose policy is remembered; trusted mode has only its manifests' few, open mode any. */
const MAX_POLICIES = 1_000;
/** A joined miss never waits longer than this for its leader; it then runs itself. */
const JOIN_TIMEOUT_MS = 5_000;

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('base64url');

/** How an answer is kept in the store: four ASCII header lines, then the body's bytes as sent. */
function encode(answer: CachedAnswer): Buffer {
  return Buffer.concat([Buffer.from(`${answer.hash}\n${answer.storedAt}\n${answer.maxAge}\n${answer.scope}\n`, 'latin1'), answer.body]);
}

const NEWLINE = 0x0a;

function decode(bytes: Buffer): CachedAnswer | undefined {
  const fields: string[] = [];
  let start = 0;
  for (let line = 0; line < 4; line += 1) {
    const end = bytes.indexOf(NEWLINE, start);
    if (end < 0) return undefined;
    fields.push(bytes.toString('latin1', start, end));
    start = end + 1;
  }
  const [hash, storedAt, maxAge, scope] = fields as [string, string, string, string];
  return { hash, storedAt: Number(storedAt), maxAge: Number(maxAge), scope: scope === 'PRIVATE' ? 'PRIVATE' : 'PUBLIC', body: bytes.subarray(start) };
}

export function createResponseCache({ schema, store, metrics, followersOf }: ResponseCacheOptions): ResponseCache {
  const policies = new LRUCache<string, { policy: CachePolicy | undefined }>({ max: MAX_POLICIES });
  const flights = new Map<string, { token: symbol; promise: Promise<CachedAnswer | undefined>; resolve: (answer: CachedAnswer | undefined) => void }>();

  return {
    metrics,
    policyFor(text, operationName) {
      const memo = `${operationName ?? ''}\n${text}`;
      let known = policies.get(memo);
      if (!known) {
        let policy: CachePolicy | undefined;
        try {
          policy = cachePolicyOf(schema, parse(text), operationName);
        } catch {
          policy = undefined; // a document that does not parse is refused by yoga; nothing to keep
        }
        policies.set(memo, (known = { policy }));
      }
      return known.policy;
    },
    keyOf(policy, text, operationName, variables, viewerId) {
      const scope = policy.scope === 'PRIVATE' ? `viewer:${viewerId ?? 'anonymous'}` : 'public';
      return sha256(`${scope}\n${operationName ?? ''}\n${canonicalJson(variables ?? {})}\n${text}`);
    },
    async lookup(key) {
      const bytes = await store.get(key);
      return bytes === undefined ? undefined : decode(bytes);
    },
    begin: () => store.generation(),
    async keep(key, policy, body, tags, since) {
      const answer: CachedAnswer = { body, hash: sha256(body), storedAt: Date.now(), maxAge: policy.maxAge, scope: policy.scope };
      const kept = since !== undefined && (await store.set(key, encode(answer), tags, policy.maxAge * 1000, since));
      return { answer, kept };
    },
    join(key) {
      const flight = flights.get(key);
      if (!flight) return undefined;
      return Promise.race([flight.promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), JOIN_TIMEOUT_MS).unref())]);
    },
    lead(key) {
      const token = Symbol(key);
      let resolve!: (answer: CachedAnswer | undefined) => void;
      const promise = new Promise<CachedAnswer | undefined>((settle) => (resolve = settle));
      flights.set(key, { token, promise, resolve });
      return token;
    },
    settle(key, answer, token) {
      const flight = flights.get(key);
      if (!flight || (token !== undefined && flight.token !== token)) return;
      flights.delete(key);
      flight.resolve(answer);
    },
    async invalidate(event) {
      const tags = await invalidatedBy(event, followersOf);
      if (tags.length === 0) return;
      metrics.responseCacheInvalidations(await store.invalidate(tags));
    },
  };
}

/**
 * The strong ETag of one representation: the same bytes under another media type (Vary: Accept) are another
 * representation, so another tag.
 */
export function etagOf(answer: CachedAnswer, mediaType: string): string {
  return mediaType.startsWith('application/graphql-response+json') ? `"${answer.hash}.gr"` : `"${answer.hash}"`;
}

/** Whether an If-None-Match header names this ETag (weak comparison, as RFC 9110 has it for If-None-Match). */
export function matchesEtag(ifNoneMatch: string | null | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

/**
 * The HTTP caching headers of a kept answer in one media type: its max-age with its Age (seconds since it was
 * kept), from which a proxy or a browser counts how long it may still keep it, never longer than Tally would.
 * Private answers vary by Authorization: a shared cache must not hand one viewer's answer to another.
 */
export function cacheHeaders(answer: CachedAnswer, mediaType: string, hit: boolean, now = Date.now()): Record<string, string> {
  const age = Math.min(answer.maxAge, Math.max(0, Math.floor((now - answer.storedAt) / 1000)));
  return {
    'cache-control': answer.scope === 'PUBLIC' ? `public, max-age=${answer.maxAge}, s-maxage=${answer.maxAge}` : `private, max-age=${answer.maxAge}`,
    vary: answer.scope === 'PUBLIC' ? 'Accept' : 'Accept, Authorization',
    etag: etagOf(answer, mediaType),
    age: String(age),
    'x-cache': hit ? 'HIT' : 'MISS',
  };
}

/** Answers that may be kept: JSON, in either of GraphQL-over-HTTP's media types (not a stream a client asked for). */
export const CACHEABLE_MEDIA_TYPES = ['application/graphql-response+json', 'application/json'] as const;
