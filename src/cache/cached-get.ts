/**
 * The response cache's front, on node:http before admission and yoga: a query over GET whose answer is kept is
 * answered here, from the stored bytes, with its caching headers, or as 304 Not Modified when the client's
 * If-None-Match names it. A hit costs a URL parse, a token check when there is a token, one Redis GET and one
 * write: none of the GraphQL pipeline, which is what lets a cached read run at a good share of bare node:http.
 *
 * Anything this front is unsure of goes on to yoga untouched, which answers it as it would have (a bad token
 * with its 401, an unknown id with its 404, a refused document with its 400): only the ids and documents the
 * persisted stage would run are looked up here. A miss goes on too; if another request for the same key is
 * already running in this process, it waits for that one's answer instead (src/cache/response-cache.ts).
 *
 * A hit costs its client 1 point of the cost budget (HIT_COST; src/cost/charge.ts): far less than running the
 * operation, but not nothing, so one client cannot take the process with cached reads either. A client whose
 * bucket is empty gets the budget's 429 and waits in the penalty box like any other refused client.
 *
 * Hits are counted (tally_response_cache_requests_total) but not logged: the request log line is yoga's.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { Handler } from '../admission.js';
import type { VerifyToken } from '../auth/jwt.js';
import type { PersistedMode } from '../config.js';
import { rateLimitHeaders, type Budget } from '../cost/charge.js';
import { writeJsonError } from '../http-errors.js';
import { sha256Hex } from '../persisted/manifest.js';
import type { TrustedDocuments } from '../persisted/trusted-documents.js';
import { requestIdFor } from '../plugins/use-request-id.js';
import type { DocumentStore } from '../store/document-store.js';
import type { CachePolicy } from './policy.js';
import { cacheHeaders, matchesEtag, type CachedAnswer, type ResponseCache } from './response-cache.js';

export interface CachedGetOptions {
  readonly cache: ResponseCache;
  readonly graphqlEndpoint: string;
  readonly mode: PersistedMode;
  readonly trusted: TrustedDocuments;
  readonly registered: DocumentStore;
  /** Whether a whole document may come over GET (GET_QUERIES). */
  readonly getQueries: boolean;
  readonly verifyToken: VerifyToken;
  /** Charges each hit; hits are free only when the budget stage is off (a load-test switch). */
  readonly budget: Budget | undefined;
}

/** What a hit costs its client, in points: about one object's worth of the work an execution does. */
export const HIT_COST = 1;

const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i;

/** URLs whose document, policy and variables are remembered. */
const MAX_NAMED_URLS = 1_000;

interface Named {
  readonly text: string;
  readonly operationName: string | undefined;
  readonly policy: CachePolicy;
  readonly variables: unknown;
  /** The cache key of a public answer, the same for every viewer; a private one is keyed per viewer. */
  readonly publicKey: string | undefined;
}

export function withCachedGet(next: Handler, options: CachedGetOptions): RequestListener {
  const { cache, graphqlEndpoint } = options;
  const prefix = `${graphqlEndpoint}?`;

  /**
   * What a URL names, worked out once per distinct URL (a hot read is one URL asked again and again): URLs
   * naming a trusted document or a whole one, whose text cannot change. Those naming a registered APQ hash are
   * worked out each time, since the registration may expire.
   */
  const named = new LRUCache<string, Named>({ max: MAX_NAMED_URLS });

  /** The document this GET names, as the persisted stage would find it, or undefined to leave it to yoga. */
  async function documentOf(search: URLSearchParams): Promise<{ text: string; lasting: boolean } | undefined> {
    const query = search.get('query');
    if (query !== null) {
      if (!options.getQueries) return undefined;
      return options.mode === 'open' || options.trusted.has(sha256Hex(query)) ? { text: query, lasting: true } : undefined;
    }
    let id = search.get('documentId') ?? search.get('doc_id') ?? search.get('id');
    const extensions = search.get('extensions');
    if (id === null && extensions !== null) {
      try {
        const persistedQuery = (JSON.parse(extensions) as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | null)?.persistedQuery;
        if (persistedQuery?.version === 1 && typeof persistedQuery.sha256Hash === 'string') id = persistedQuery.sha256Hash.toLowerCase();
      } catch {
        return undefined;
      }
    }
    if (id === null || id === '') return undefined;
    const trusted = options.trusted.get(id);
    if (trusted !== undefined) return { text: trusted, lasting: true };
    const registered = options.mode === 'open' ? await options.registered.get(id) : undefined;
    return registered === undefined ? undefined : { text: registered, lasting: false };
  }

  async function nameOf(url: string): Promise<Named | undefined> {
    const known = named.get(url);
    if (known) return known;
    const search = new URLSearchParams(url.slice(prefix.length));
    const document = await documentOf(search);
    if (document === undefined) return undefined;
    const operationName = search.get('operationName') ?? undefined;
    const policy = cache.policyFor(document.text, operationName);
    if (!policy) return undefined;
    const variablesText = search.get('variables');
    const variables: unknown = variablesText === null || variablesText === '' ? {} : JSON.parse(variablesText);
    if (variables === null || typeof variables !== 'object' || Array.isArray(variables)) return undefined;
    const found: Named = {
      text: document.text,
      operationName,
      policy,
      variables,
      publicKey: policy.scope === 'PUBLIC' ? cache.keyOf(policy, document.text, operationName, variables, undefined) : undefined,
    };
    if (document.lasting) named.set(url, found);
    return found;
  }

  async function answer(request: IncomingMessage, response: ServerResponse, cached: CachedAnswer, viewerId: number | undefined) {
    let limits: Record<string, string> = {};
    if (options.budget) {
      const forwarded = request.headers['x-forwarded-for'];
      const client = options.budget.clientOf(viewerId, request.socket.remoteAddress, typeof forwarded === 'string' ? forwarded : undefined);
      const { charge, refusal } = await options.budget.charge(client, HIT_COST);
      if (refusal) {
        const { http, ...extensions } = refusal.extensions as { http: { headers: Record<string, string> } };
        writeJsonError(request, response, 429, { message: refusal.message, extensions }, http.headers);
        return;
      }
      limits = rateLimitHeaders(charge);
    }
    const headers: Record<string, string> = { ...cacheHeaders(cached, true), ...limits, 'x-request-id': requestIdFor(request.headers['x-request-id'] as string | undefined) };
    if (matchesEtag(request.headers['if-none-match'], cached.etag)) {
      cache.metrics.responseCache('not_modified');
      response.writeHead(304, headers).end();
      return;
    }
    cache.metrics.responseCache('hit');
    const accept = request.headers.accept ?? '';
    headers['content-type'] = `${accept.includes('application/graphql-response+json') ? 'application/graphql-response+json' : 'application/json'}; charset=utf-8`;
    headers['content-length'] = String(cached.body.length);
    response.writeHead(200, headers).end(cached.body);
  }

  /**
   * Answers from the cache and returns true; or returns false for yoga to answer, with the key this request
   * now leads a miss of (others of that key wait for it) when it does.
   */
  async function serve(request: IncomingMessage, response: ServerResponse): Promise<true | { leads?: string }> {
    const name = await nameOf(request.url!);
    if (!name) return {};
    let viewerId: number | undefined;
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const token = BEARER.exec(authorization)?.[1];
      if (!token) return {};
      viewerId = (await options.verifyToken(token)).id;
    }
    const key = name.publicKey ?? cache.keyOf(name.policy, name.text, name.operationName, name.variables, viewerId);
    let cached = await cache.lookup(key);
    if (!cached) {
      const running = cache.join(key);
      if (!running) {
        // In the same turn as the lookup's answer: the misses arriving meanwhile find this one to wait for.
        cache.lead(key);
        return { leads: key };
      }
      cached = await running;
      if (!cached) return {};
    }
    await answer(request, response, cached, viewerId);
    return true;
  }

  return (request, response) => {
    if (request.method !== 'GET' || !request.url?.startsWith(prefix)) {
      void next(request, response);
      return;
    }
    serve(request, response).then(
      (served) => {
        if (served === true) return;
        const { leads } = served;
        // The yoga stage settles the miss with its answer; should it never get there, the flight ends with the response.
        if (leads !== undefined) response.once('close', () => cache.settle(leads, undefined));
        void next(request, response);
      },
      // A malformed variables text, a token that does not verify, a store that failed: yoga says what is wrong.
      () => void next(request, response),
    );
  };
}
