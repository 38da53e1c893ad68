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
import type { Handler } from './admission.js';
import type { VerifyToken } from '../auth/jwt.js';
import { viewerOf } from '../auth/viewer.js';
import type { PersistedMode } from '../config.js';
import { getOperationAST, parse } from 'graphql';
import type { GraphQLParams } from 'graphql-yoga';
import { rateLimitHeaders, type Budget, type Client } from '../cost/charge.js';
import type { CostModel } from '../cost/estimate.js';
import { codedEtag, codingFor, MIN_CODED_BYTES, varyWithEncoding } from '../request/content-coding.js';
import type { Refuse } from './errors.js';
import { sha256Hex } from '../persisted/manifest.js';
import type { TrustedDocuments } from '../persisted/trusted-documents.js';
import { documentFor, isPersistedId, persistedIdOf } from '../persisted/operation-id.js';
import { requestIdFor } from '../request/request-id.js';
import { forwardedFor } from '../request/client.js';
import { answerMediaType } from '../request/media-type.js';
import { getParams } from '../request/params.js';
import type { DocumentStore } from '../store/document-store.js';
import { codedAnswers } from '../cache/coded-answers.js';
import type { CachePolicy } from '../cache/policy.js';
import { cacheHeaders, matchesEtag, type CachedAnswer, type ResponseCache } from '../cache/response-cache.js';

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
  /** Prices a document, so a hit is refused to a client whose budget would refuse the operation (MAX_COST). */
  readonly costModel: CostModel;
  readonly maxCost: number;
  /** How a hit the budget refuses is answered (src/http/errors.ts). */
  readonly refuse: Refuse;
}

/** What a hit costs its client, in points: about one object's worth of the work an execution does. */
export const HIT_COST = 1;

/** URLs whose document, policy and variables are remembered. */
const MAX_NAMED_URLS = 1_000;

interface Named {
  readonly text: string;
  readonly operationName: string | undefined;
  readonly policy: CachePolicy;
  readonly variables: Record<string, unknown>;
  /** The operation's requested cost, as the budget stage prices it. */
  readonly cost: number;
  /** The cache key of a public answer, the same for every viewer; a private one is keyed per viewer. */
  readonly publicKey: string | undefined;
}

export function withCachedGet(next: Handler, options: CachedGetOptions): RequestListener {
  const { cache, graphqlEndpoint } = options;
  const coded = codedAnswers();
  const prefix = `${graphqlEndpoint}?`;

  /**
   * What a URL names, worked out once per distinct URL (a hot read is one URL asked again and again): URLs
   * naming a trusted document or a whole one, whose text cannot change. Those naming a registered APQ hash are
   * worked out each time, since the registration may expire.
   */
  const named = new LRUCache<string, Named>({ max: MAX_NAMED_URLS });

  /**
   * The document this GET names, found as the persisted stage finds it (persistedIdOf, documentFor), or
   * undefined to leave the request to yoga, which answers whatever is wrong with it.
   */
  async function documentOf(search: URLSearchParams, params: GraphQLParams): Promise<{ text: string; lasting: boolean } | undefined> {
    const query = params.query;
    if (query !== undefined) {
      if (!options.getQueries) return undefined;
      return options.mode === 'open' || options.trusted.has(sha256Hex(query)) ? { text: query, lasting: true } : undefined;
    }
    const persisted = persistedIdOf(params as GraphQLParams & Record<string, unknown>, search);
    if (!persisted || !isPersistedId(persisted.id)) return undefined;
    const text = await documentFor({ id: persisted.id, apq: persisted.apq }, options);
    return text === undefined ? undefined : { text, lasting: options.trusted.has(persisted.id) };
  }

  async function nameOf(url: string): Promise<Named | undefined> {
    const known = named.get(url);
    if (known) return known;
    const search = new URLSearchParams(url.slice(prefix.length));
    // Read as the yoga stage reads it: a malformed parameter throws, and yoga answers it with its 400.
    const params = getParams(search);
    const document = await documentOf(search, params);
    if (document === undefined) return undefined;
    const { operationName } = params;
    const policy = cache.policyFor(document.text, operationName);
    if (!policy) return undefined;
    const variables = params.variables ?? {};
    const parsed = parse(document.text);
    const operation = getOperationAST(parsed, operationName);
    if (!operation) return undefined;
    const found: Named = {
      text: document.text,
      operationName,
      policy,
      variables,
      cost: options.costModel.requested(parsed, operation, variables),
      publicKey: policy.scope === 'PUBLIC' ? cache.keyOf(policy, document.text, operationName, variables, undefined) : undefined,
    };
    if (document.lasting) named.set(url, found);
    return found;
  }

  /** Charges the hit: the client's RateLimit-* headers, or undefined when it was refused (and answered 429). */
  async function charged(request: IncomingMessage, response: ServerResponse, client: Client): Promise<Record<string, string> | undefined> {
    const { charge, refusal } = await options.budget!.charge(client, HIT_COST);
    if (!refusal) return rateLimitHeaders(charge);
    const { http, ...extensions } = refusal.extensions as { http: { headers: Record<string, string> } };
    options.refuse(request, response, 429, { message: refusal.message, extensions }, http.headers);
    return undefined;
  }

  async function answer(request: IncomingMessage, response: ServerResponse, cached: CachedAnswer, mediaType: string, client: Client | undefined) {
    const limits = client ? await charged(request, response, client) : {};
    if (!limits) return;
    // A public answer goes without this client's RateLimit-* (a shared cache would hand them to everyone).
    const headers: Record<string, string> = cached.scope === 'PUBLIC' ? {} : { ...limits };
    Object.assign(headers, cacheHeaders(cached, mediaType, true), { 'x-request-id': requestIdFor(request.headers['x-request-id'] as string | undefined) });
    // Coded as the compression stage codes a miss (src/http/compression.ts): the same Vary and ETag, from bytes kept.
    const codable = cached.body.length >= MIN_CODED_BYTES;
    const coding = codable ? codingFor(request.headers['accept-encoding']) : undefined;
    if (codable) headers['vary'] = varyWithEncoding(headers['vary']);
    if (coding) headers['etag'] = codedEtag(headers['etag']!, coding);
    if (matchesEtag(request.headers['if-none-match'], headers['etag']!)) {
      cache.metrics.responseCache('not_modified');
      response.writeHead(304, headers).end();
      return;
    }
    cache.metrics.responseCache('hit');
    const body = coding ? coded(cached, coding) : cached.body;
    headers['content-type'] = `${mediaType}; charset=utf-8`;
    headers['content-length'] = String(body.length);
    if (coding) headers['content-encoding'] = coding;
    response.writeHead(200, headers).end(body);
  }

  /**
   * Answers from the cache and returns true; or returns false for yoga to answer, with the token of the miss
   * this request now leads (others of its key wait for it) when it does.
   */
  async function serve(request: IncomingMessage, response: ServerResponse): Promise<true | { leads?: { key: string; token: symbol } }> {
    const mediaType = answerMediaType(request.headers.accept);
    if (!mediaType) return {};
    const name = await nameOf(request.url!);
    if (!name) return {};
    // A bad token throws, and yoga answers its 401.
    const viewerId = (await viewerOf(request.headers.authorization, options.verifyToken))?.id;
    let client: Client | undefined;
    if (options.budget) {
      client = options.budget.clientOf(viewerId, request.socket.remoteAddress, forwardedFor(request));
      // More than this client may ask for at once: the budget stage refuses it (COST_LIMIT_EXCEEDED), cached or not.
      if (name.cost > Math.min(options.maxCost, client.policy.capacity)) return {};
    }
    const key = name.publicKey ?? cache.keyOf(name.policy, name.text, name.operationName, name.variables, viewerId);
    let cached = await cache.lookup(key);
    if (!cached) {
      const running = cache.join(key);
      if (!running) {
        // In the same turn as the lookup's answer: the misses arriving meanwhile find this one to wait for.
        return { leads: { key, token: cache.lead(key) } };
      }
      cached = await running;
      if (!cached) return {};
    }
    await answer(request, response, cached, mediaType, client);
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
        // The yoga stage settles the miss with its answer when it keeps one; else the flight ends with the response.
        if (leads !== undefined) response.once('close', () => cache.settle(leads.key, undefined, leads.token));
        void next(request, response);
      },
      // Malformed variables or extensions, a token that does not verify, a store that failed: yoga says what is wrong.
      () => void next(request, response),
    );
  };
}
