/**
 * The response cache's yoga stage: what a cacheable query over GET answered is kept (src/cache/response-cache.ts)
 * and carries its caching headers (Cache-Control, ETag, Vary, Age, X-Cache: MISS); an If-None-Match naming the
 * new ETag gets a 304. Hits never reach yoga: the node:http front answers them (src/cache/cached-get.ts).
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
import { cacheHeaders, matchesEtag, type ResponseCache } from '../cache/response-cache.js';
import { tagsOf } from '../cache/tags.js';
import { scopeOf } from '../request-scope.js';

interface Miss {
  readonly key: string;
  readonly policy: CachePolicy;
  readonly epoch: number;
  tags?: readonly string[];
}

export function useResponseCache(cache: ResponseCache, graphqlEndpoint: string): Plugin {
  const misses = new WeakMap<Request, Miss>();
  return {
    onParams({ request, params }) {
      if (request.method !== 'GET' || typeof params.query !== 'string') return;
      const operationName = params.operationName ?? undefined;
      const policy = cache.policyFor(params.query, operationName);
      if (!policy) return;
      const viewerId = scopeOf(request).viewer?.id;
      misses.set(request, { key: cache.keyOf(policy, params.query, operationName, params.variables, viewerId), policy, epoch: cache.epoch() });
    },

    onResultProcess(event) {
      const { request, result } = event;
      const miss = misses.get(request);
      if (!miss || Array.isArray(result) || Symbol.asyncIterator in (result as object)) return;
      const { data, errors } = result as ExecutionResult;
      if (errors?.length || !data || Object.values(data).some((value) => value === null)) return;
      miss.tags = tagsOf(miss.policy, data, scopeOf(request).viewer?.id);
      event.setResult({ data });
    },

    async onResponse(event) {
      const { request, response } = event;
      if (request.method !== 'GET' || new URL(request.url).pathname !== graphqlEndpoint) return;
      const miss = misses.get(request);
      if (!miss?.tags || response.status !== 200) {
        if (miss) cache.settle(miss.key, undefined);
        response.headers.set('cache-control', 'no-store');
        return;
      }
      const body = Buffer.from(await response.arrayBuffer());
      const answer = await cache.keep(miss.key, miss.policy, body, miss.tags, miss.epoch);
      cache.settle(miss.key, answer);
      cache.metrics.responseCache('miss');
      const headers = new Headers(response.headers);
      for (const [name, value] of Object.entries(cacheHeaders(answer, false))) headers.set(name, value);
      if (matchesEtag(request.headers.get('if-none-match'), answer.etag)) {
        headers.delete('content-length');
        event.setResponse(new Response(null, { status: 304, headers }));
      } else {
        event.setResponse(new Response(body, { status: 200, headers }));
      }
    },
  };
}
