/**
 * The response cache's yoga stage: what a cacheable query over GET answered is kept (src/cache/response-cache.ts)
 * and carries its caching headers (Cache-Control, ETag, Vary, Age, X-Cache: MISS); an If-None-Match naming the
 * new ETag gets a 304. Hits never reach yoga: the node:http front answers them (src/http/cached-get.ts).
 *
 * Only a complete answer is kept: no errors, and every root field non-null (a user looked up before they sign
 * up is not remembered as absent). The cost report in `extensions` is per request, so a kept answer has none;
 * the RateLimit-* headers still tell the client its budget. Any other GET answer is `Cache-Control: no-store`,
 * refusals included, so no proxy keeps an error (an APQ miss above all, which the client is about to fix).
 *
 * Last in the plugin list: its onResponse sees the headers the other stages set, and copies them.
 */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { CachePolicy } from '../cache/policy.js';
import { CACHEABLE_MEDIA_TYPES, cacheHeaders, matchesEtag, type ResponseCache } from '../cache/response-cache.js';
import { tagsOf } from '../cache/tags.js';
import { codedEtag, codingFor, MIN_CODED_BYTES, varyWithEncoding } from '../request/content-coding.js';
import { scopeOf } from '../request/scope.js';

interface Miss {
  readonly key: string;
  readonly policy: CachePolicy;
  /** The store's count of drops when the miss began (response-store.ts): a drop after it keeps nothing. */
  readonly since: Promise<number | undefined>;
  tags?: readonly string[];
}

/** An answer with every root field there: a null root, or a null in a root list (`nodes`), is not remembered. */
const complete = (data: Record<string, unknown>) => Object.values(data).every((value) => value !== null && !(Array.isArray(value) && value.includes(null)));

/** The RateLimit-* headers are one client's: a public answer, which a shared cache keeps for everyone, goes without. */
const PER_CLIENT_HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'];

export function useResponseCache(cache: ResponseCache, graphqlEndpoint: string): Plugin {
  const misses = new WeakMap<Request, Miss>();
  return {
    onParams({ request, params }) {
      if (request.method !== 'GET' || typeof params.query !== 'string') return;
      const operationName = params.operationName ?? undefined;
      const policy = cache.policyFor(params.query, operationName);
      if (!policy) return;
      const viewerId = scopeOf(request).viewer?.id;
      misses.set(request, { key: cache.keyOf(policy, params.query, operationName, params.variables, viewerId), policy, since: cache.begin() });
    },

    onResultProcess(event) {
      const { request, result } = event;
      const miss = misses.get(request);
      if (!miss || Array.isArray(result) || Symbol.asyncIterator in (result as object)) return;
      const { data, errors } = result as ExecutionResult;
      if (errors?.length || !data || !complete(data)) return;
      miss.tags = tagsOf(miss.policy, data, scopeOf(request).viewer?.id);
      event.setResult({ data });
    },

    async onResponse(event) {
      const { request, response } = event;
      if (request.method !== 'GET' || new URL(request.url).pathname !== graphqlEndpoint) return;
      const miss = misses.get(request);
      const mediaType = response.headers.get('content-type') ?? '';
      // Nothing kept: those waiting for this miss (if it leads one) run their own once its response has gone
      // (the front ends its flight then); a miss that is not the leader must not end the leader's flight.
      if (!miss?.tags || response.status !== 200 || !CACHEABLE_MEDIA_TYPES.some((type) => mediaType.startsWith(type))) {
        response.headers.set('cache-control', 'no-store');
        return;
      }
      const body = Buffer.from(await response.arrayBuffer());
      const { answer, kept } = await cache.keep(miss.key, miss.policy, body, miss.tags, await miss.since);
      cache.metrics.responseCache('miss');
      const headers = new Headers(response.headers);
      if (!kept) {
        // A write committed while this ran (or the store could not say): right for this request, not to be shared.
        headers.set('cache-control', 'no-store');
        headers.set('x-cache', 'MISS');
        event.setResponse(new Response(body, { status: 200, headers }));
        return;
      }
      cache.settle(miss.key, answer);
      for (const [name, value] of Object.entries(cacheHeaders(answer, mediaType, false))) headers.set(name, value);
      if (answer.scope === 'PUBLIC') for (const name of PER_CLIENT_HEADERS) headers.delete(name);
      // The representation this client gets: the compression stage codes the 200's body and ETag on its way out,
      // so a 304 says here what that 200 would have said (its coded ETag, its Vary), as a hit's does.
      const coding = body.length >= MIN_CODED_BYTES ? codingFor(request.headers.get('accept-encoding') ?? undefined) : undefined;
      const etag = coding ? codedEtag(headers.get('etag')!, coding) : headers.get('etag')!;
      if (matchesEtag(request.headers.get('if-none-match'), etag)) {
        headers.delete('content-length');
        headers.set('etag', etag);
        if (body.length >= MIN_CODED_BYTES) headers.set('vary', varyWithEncoding(headers.get('vary') ?? undefined));
        event.setResponse(new Response(null, { status: 304, headers }));
      } else {
        event.setResponse(new Response(body, { status: 200, headers }));
      }
    },
  };
}
