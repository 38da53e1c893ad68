/**
 * The cost budget (src/plugins/use-cost-budget.ts) through the real server: what operations are priced at
 * (src/cost/), what they are refunded to, each client's bucket running out with a true Retry-After, the
 * per-operation limit, and who a client is (viewer, or the socket's peer, or a trusted proxy's
 * X-Forwarded-For) over real HTTP. Runs on the in-process bucket, and on Redis when REDIS_URL is set
 * (the test server's stores pick).
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import type { UserRow } from '../../src/db/schema.js';
import { createPosts, createUser } from '../helpers/factories.js';
import { codesOf, globalId } from '../helpers/assertions.js';
import { listenLikeMain, type HttpServer } from '../helpers/http.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { sleep } from '../helpers/wait.js';

// A token names its viewer and reads need no row behind it: a new id is a new client with a full bucket.
let lastViewer = 1_000_000;
const freshViewer = () => (lastViewer += 1);

/** `count` posts by one author, so a page asked for that many returns that many (actual = requested). */
async function seedPosts(db: Db, count: number): Promise<UserRow> {
  const author = await createUser(db);
  await createPosts(db, Array.from({ length: count }, (_, i) => ({ authorId: author.id, body: `post ${i}` })));
  return author;
}

interface Cost {
  requestedQueryCost: number;
  actualQueryCost?: number;
  maximumQueryCost: number;
  throttleStatus?: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number; resetAfterMs: number };
}
const ANY_NUMBER: unknown = expect.any(Number);
const ANY_STRING: unknown = expect.any(String);
const costOf = (response: GraphQLResponse) => (response.body as { extensions?: { cost?: Cost } }).extensions?.cost;

/** 1 for the connection + 20 × (edge 1 + post 1 + author 1). */
const PAGE_OF_20_WITH_AUTHORS = '{ posts(first: 20) { edges { node { id body author { id username } } } } }';
/** 1 + 5 × (edge 1 + post 1): 11, and 11 actual on a database with at least 5 posts. */
const PAGE_OF_5 = '{ posts(first: 5) { edges { node { id } } } }';
// Ids of nothing: `nodes` is priced at its assumed 100 whatever it is given, and costs nothing it did not find.
const MISSING_POST = globalId('Post', 999_999);
const MISSING_USER = globalId('User', 999_999);
/** 100 × (node 1 + author 1): exactly anonymous' limit. */
const NODES_WITH_AUTHORS = `{ nodes(ids: ["${MISSING_POST}"]) { id ... on Post { author { id } } } }`;
const RATE_LIMIT = '{ rateLimit { cost maxQueryCost limit remaining restoreRate resetAt } }';

describe('what operations cost', () => {
  let server: TestServer;
  let author: UserRow;
  beforeAll(async () => {
    // The defaults (the helper's are unlimited), but viewers restore 1 point a second: exact figures in a test.
    server = await startTestServer({ COST_BUDGET_VIEWER: '1000', COST_RESTORE_VIEWER: '1', COST_BUDGET_ANONYMOUS: '200', COST_RESTORE_ANONYMOUS: '10' });
    author = await seedPosts(server.database.db, 3);
  });
  afterAll(() => server?.close());

  it.each([
    { what: 'a page of 20 posts with their authors', query: PAGE_OF_20_WITH_AUTHORS, requested: 61 },
    { what: 'a page of 5 post ids', query: PAGE_OF_5, requested: 11 },
    { what: 'a page with pageInfo only (pageInfo is free)', query: '{ posts(first: 5) { pageInfo { hasNextPage endCursor } } }', requested: 1 },
    { what: 'a page with edges and pageInfo', query: '{ posts(first: 5) { edges { node { id } } pageInfo { hasNextPage } } }', requested: 11 },
    { what: 'a page without first (20 assumed)', query: '{ posts { edges { node { id } } } }', requested: 41 },
    { what: 'a page asked with last', query: '{ posts(last: 3) { edges { cursor node { id } } } }', requested: 7 },
    { what: 'the feed (weight 5), 10 posts', query: '{ feed(first: 10) { edges { node { id } } } }', requested: 25 },
    { what: 'nodes (100 assumed), ids only', query: `{ nodes(ids: ["${MISSING_POST}", "${MISSING_USER}"]) { id } }`, requested: 100 },
    { what: 'nodes with a post\'s author', query: NODES_WITH_AUTHORS, requested: 200 },
    { what: 'the viewer', query: '{ viewer { id username } }', requested: 1 },
    { what: 'rateLimit alone', query: RATE_LIMIT, requested: 0 },
    { what: 'rateLimit beside a page', query: `{ rateLimit { cost } ${PAGE_OF_5.slice(1, -1)} }`, requested: 11 },
    {
      what: 'signUp (10 for a mutation + payload 1 + user 1 + 5 assumed errors)',
      query: 'mutation { signUp(input: { username: "priced", name: "P", email: "priced@example.test" }) { user { id } errors { code message } } }',
      requested: 17,
    },
  ])('prices $what at $requested', async ({ query, requested }) => {
    const response = await server.graphql(query, { as: freshViewer() });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(costOf(response)).toMatchObject({ requestedQueryCost: requested, maximumQueryCost: 1000 });
  });

  it('charges what came back: a page of 20 on 3 posts costs 1 + 3 × 3, and the rest is refunded', async () => {
    const viewer = freshViewer();
    const response = await server.graphql(PAGE_OF_20_WITH_AUTHORS, { as: viewer });
    expect(response.status).toBe(200);
    expect((response.body.data as { posts: { edges: unknown[] } }).posts.edges).toHaveLength(3);
    // Charged 61 up front (1000 → 939), refunded 51: 990 left.
    expect(costOf(response)).toEqual({
      requestedQueryCost: 61,
      actualQueryCost: 10,
      maximumQueryCost: 1000,
      throttleStatus: { maximumAvailable: 1000, currentlyAvailable: 990, restoreRate: 1, resetAfterMs: ANY_NUMBER },
    });
    expect(costOf(response)!.throttleStatus!.resetAfterMs).toBeGreaterThan(9_000);
    expect(costOf(response)!.throttleStatus!.resetAfterMs).toBeLessThanOrEqual(10_000);
    expect(response.headers.get('ratelimit-limit')).toBe('1000');
    expect(response.headers.get('ratelimit-remaining')).toBe('990');
    expect(response.headers.get('ratelimit-reset')).toBe('10');
    // The refund is in the bucket, not only in the report.
    const after = await server.graphql<{ rateLimit: { remaining: number } }>('{ rateLimit { remaining } }', { as: viewer });
    expect(after.body.data!.rateLimit.remaining).toBe(990);
  });

  it('prices a page by its variables', async () => {
    const query = 'query($n: Int) { posts(first: $n) { edges { node { id } } } }';
    const small = await server.graphql(query, { as: freshViewer(), variables: { n: 2 } });
    const large = await server.graphql(query, { as: freshViewer(), variables: { n: 50 } });
    expect(costOf(small)).toMatchObject({ requestedQueryCost: 5, actualQueryCost: 5 });
    expect(costOf(large)).toMatchObject({ requestedQueryCost: 101, actualQueryCost: 7 });
  });

  it('prices the feed\'s actual cost from the posts it returned (none for a viewer who follows no one)', async () => {
    const response = await server.graphql('{ feed(first: 10) { edges { node { id } } } }', { as: freshViewer() });
    expect(costOf(response)).toMatchObject({ requestedQueryCost: 25, actualQueryCost: 5 });
  });

  it('charges a mutation 10 more than a query of the same selection', async () => {
    const query = await server.graphql('query { __typename }', { as: freshViewer() });
    const mutation = await server.graphql('mutation { __typename }', { as: freshViewer() });
    expect(costOf(query)).toMatchObject({ requestedQueryCost: 0, actualQueryCost: 0 });
    expect(costOf(mutation)).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 10 });
    expect(costOf(mutation)!.throttleStatus!.currentlyAvailable).toBe(990);
  });

  it('prices a mutation\'s actual cost from its payload: signUp that succeeds costs 10 + 1 + 1, no errors', async () => {
    const response = await server.graphql(
      'mutation { signUp(input: { username: "refunded", name: "R", email: "refunded@example.test" }) { user { id } errors { code } } }',
      { as: freshViewer() },
    );
    expect(response.body.errors).toBeUndefined();
    expect(costOf(response)).toMatchObject({ requestedQueryCost: 17, actualQueryCost: 12, throttleStatus: { currentlyAvailable: 988 } });
  });

  // One response key selected in fragments on two types (`x` is a User's page or a Post's author): the response
  // does not say which, so the key is priced as the dearest reading. The same 3 posts come back either way.
  it('prices what came back whatever fragment selected it (a key shared by fragments on two types)', async () => {
    const ids = JSON.stringify([globalId('User', author.id)]);
    const page = 'posts(first: 3) { edges { node { id } } }';
    const plain = await server.graphql(`{ nodes(ids: ${ids}) { id ... on User { x: ${page} } } }`, { as: freshViewer() });
    const shared = await server.graphql(`{ nodes(ids: ${ids}) { id ... on Post { x: author { id } } ... on User { x: ${page} } } }`, {
      as: freshViewer(),
    });
    expect(shared.body.data).toEqual(plain.body.data);
    // node 1 + page (1 + 3 × (edge 1 + post 1)).
    expect(costOf(plain)).toMatchObject({ requestedQueryCost: 800, actualQueryCost: 8 });
    expect(costOf(shared)).toMatchObject({ requestedQueryCost: 800, actualQueryCost: 8 });
  });

  it('answers rateLimit without spending: cost 0, remaining unchanged however often it is asked', async () => {
    const viewer = freshViewer();
    const spent = await server.graphql(PAGE_OF_5, { as: viewer });
    expect(costOf(spent)).toMatchObject({ requestedQueryCost: 11, actualQueryCost: 7 });
    for (let i = 0; i < 3; i += 1) {
      const response = await server.graphql<{ rateLimit: Record<string, unknown> }>(RATE_LIMIT, { as: viewer });
      expect(response.body.data!.rateLimit).toEqual({
        cost: 0,
        maxQueryCost: 1000,
        limit: 1000,
        remaining: 993,
        restoreRate: 1,
        resetAt: ANY_STRING,
      });
      expect(costOf(response)).toMatchObject({ requestedQueryCost: 0, actualQueryCost: 0, throttleStatus: { currentlyAvailable: 993 } });
    }
  });

  it('refuses anonymous an operation above its bucket (min(MAX_COST, 200)), telling it to sign in, before any SQL', async () => {
    const page = '{ posts(first: 100) { edges { node { id author { id } } } } }';
    server.statements.reset();
    const anonymous = await server.graphql(page);
    expect(anonymous.status).toBe(400);
    expect(codesOf(anonymous.body)).toEqual(['COST_LIMIT_EXCEEDED']);
    expect(anonymous.body.errors![0]!.message).toBe(
      'The operation costs too much for an anonymous client: sign in for a larger budget (301, the limit is 200).',
    );
    expect(anonymous.body.errors![0]!.extensions).toMatchObject({ value: 301, limit: 200 });
    expect(costOf(anonymous)).toEqual({ requestedQueryCost: 301, maximumQueryCost: 200 });
    expect(server.statements.count).toBe(0);

    const viewer = await server.graphql(page, { as: freshViewer() });
    expect(viewer.status).toBe(200);
    expect(costOf(viewer)).toMatchObject({ requestedQueryCost: 301, actualQueryCost: 10, maximumQueryCost: 1000 });
  });

  // Anonymous spends nothing else in this block (its refused operations take nothing): its bucket is full here.
  it('lets anonymous spend exactly its limit in one operation', async () => {
    const response = await server.graphql(NODES_WITH_AUTHORS);
    expect(response.status).toBe(200);
    expect(costOf(response)).toMatchObject({ requestedQueryCost: 200, actualQueryCost: 0, maximumQueryCost: 200 });
  });

  it('refuses a viewer an operation above MAX_COST, without the sign-in hint', async () => {
    const response = await server.graphql('{ posts(first: 100) { edges { node { author { posts(first: 10) { edges { node { id } } } } } } } }', {
      as: freshViewer(),
    });
    expect(response.status).toBe(400);
    expect(codesOf(response.body)).toEqual(['COST_LIMIT_EXCEEDED']);
    expect(response.body.errors![0]!.message).toBe('The operation costs too much (2401, the limit is 1000).');
  });
});

describe('a client\'s bucket running out', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Anonymous refills 20 a second: an 11-point read is short by at most 11 points, so Retry-After is 1 s.
    // Viewers refill 1 a second: exact figures.
    server = await startTestServer({ COST_BUDGET_ANONYMOUS: '100', COST_RESTORE_ANONYMOUS: '20', COST_BUDGET_VIEWER: '30', COST_RESTORE_VIEWER: '1' });
    await seedPosts(server.database.db, 5);
  });
  afterAll(() => server?.close());

  /** Sends PAGE_OF_5 (as `as`, or anonymous) until it is refused; the refusal. */
  async function spendDown(as?: number): Promise<GraphQLResponse> {
    for (let i = 0; i < 50; i += 1) {
      const response = await server.graphql(PAGE_OF_5, as === undefined ? {} : { as });
      if (response.status !== 200) return response;
      expect(costOf(response)).toMatchObject({ requestedQueryCost: 11, actualQueryCost: 11 });
    }
    throw new Error('the budget never ran out');
  }

  it('refuses with 429 RATE_LIMITED, RateLimit-* headers and a Retry-After that is true, and sends no SQL', async () => {
    await spendDown();
    server.statements.reset();
    const refused = await server.graphql(PAGE_OF_5);
    expect(server.statements.count).toBe(0);
    expect(refused.status).toBe(429);
    expect(codesOf(refused.body)).toEqual(['RATE_LIMITED']);
    expect(refused.body.data).toBeUndefined();

    const remaining = Number(refused.headers.get('ratelimit-remaining'));
    expect(remaining).toBeLessThan(11);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.errors![0]!.extensions).toMatchObject({ retryAfterSeconds: 1 });
    expect(refused.body.errors![0]!.message).toBe(
      `Rate limited: this operation costs 11 points and ${remaining} of 100 are left (20 restored per second). Retry in 1 s.`,
    );
    expect(refused.headers.get('ratelimit-limit')).toBe('100');
    // (100 − what is left) at 20 a second, what is left being between `remaining` and the next whole point.
    const reset = Number(refused.headers.get('ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(Math.ceil((99 - remaining) / 20));
    expect(reset).toBeLessThanOrEqual(Math.ceil((100 - remaining) / 20));
    expect(costOf(refused)).toEqual({
      requestedQueryCost: 11,
      maximumQueryCost: 100,
      throttleStatus: { maximumAvailable: 100, currentlyAvailable: remaining, restoreRate: 20, resetAfterMs: ANY_NUMBER },
    });

    // Refused requests take nothing: more of them do not push the retry further away.
    for (let i = 0; i < 5; i += 1) expect((await server.graphql(PAGE_OF_5)).status).toBe(429);
    await sleep(1_000);
    const retried = await server.graphql(PAGE_OF_5);
    expect(retried.status).toBe(200);
    expect(costOf(retried)).toMatchObject({ requestedQueryCost: 11, actualQueryCost: 11 });
  });

  it('takes nothing for a refused request (exact, on a viewer\'s slow bucket)', async () => {
    const viewer = freshViewer();
    expect(costOf(await server.graphql(PAGE_OF_5, { as: viewer }))!.throttleStatus!.currentlyAvailable).toBe(19);
    expect(costOf(await server.graphql(PAGE_OF_5, { as: viewer }))!.throttleStatus!.currentlyAvailable).toBe(8);
    for (let i = 0; i < 3; i += 1) {
      const refused = await server.graphql(PAGE_OF_5, { as: viewer });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('ratelimit-remaining')).toBe('8');
      // 3 points short at 1 a second.
      expect(refused.headers.get('retry-after')).toBe('3');
    }
    const peek = await server.graphql<{ rateLimit: { remaining: number } }>('{ rateLimit { remaining } }', { as: viewer });
    expect(peek.status).toBe(200);
    expect(peek.body.data!.rateLimit.remaining).toBe(8);
  });

  it('keeps anonymous and each viewer in buckets of their own', async () => {
    const [first, second] = [freshViewer(), freshViewer()];
    const remainingOf = async (as?: number) =>
      (await server.graphql<{ rateLimit: { remaining: number } }>('{ rateLimit { remaining } }', as === undefined ? {} : { as })).body.data!.rateLimit.remaining;

    expect((await spendDown()).status).toBe(429);
    // Anonymous is spent; a viewer starts full.
    const fresh = await server.graphql(PAGE_OF_5, { as: first });
    expect(fresh.status).toBe(200);
    expect(costOf(fresh)!.throttleStatus!.currentlyAvailable).toBe(19);

    const anonymousBefore = await remainingOf();
    expect((await spendDown(first)).status).toBe(429);
    // The first viewer's spending took nothing from anonymous (which only refilled meanwhile) nor the second.
    expect(await remainingOf()).toBeGreaterThanOrEqual(anonymousBefore);
    expect(await remainingOf(second)).toBe(30);
    const other = await server.graphql(PAGE_OF_5, { as: second });
    expect(other.status).toBe(200);
    expect(costOf(other)!.throttleStatus!.currentlyAvailable).toBe(19);
    expect((await server.graphql(PAGE_OF_5, { as: first })).status).toBe(429);
  });
});

interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: GraphQLResponse['body'] & { extensions?: { cost?: Cost } };
}

/** A POST over a real socket, from `localAddress` if given (any 127.x address reaches a 127.0.0.1 server). */
function post(
  base: string,
  query: string,
  options: { headers?: Record<string, string>; localAddress?: string; token?: string } = {},
): Promise<HttpResponse> {
  const body = JSON.stringify({ query });
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...options.headers };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${base}/graphql`, { method: 'POST', headers, localAddress: options.localAddress, agent: false }, (incoming) => {
      let text = '';
      incoming.setEncoding('utf8');
      incoming.on('data', (chunk: string) => (text += chunk));
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: JSON.parse(text) as HttpResponse['body'] }));
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

// Buckets of 20 that refill 1 a second: one 11-point page spends a client, and it stays spent for the test.
const SMALL_BUDGETS = { COST_BUDGET_ANONYMOUS: '20', COST_RESTORE_ANONYMOUS: '1', COST_BUDGET_VIEWER: '20', COST_RESTORE_VIEWER: '1' };

describe('who an anonymous client is, over real HTTP', () => {
  let server: TestServer;
  let http: HttpServer;
  beforeAll(async () => {
    server = await startTestServer(SMALL_BUDGETS);
    await seedPosts(server.database.db, 5);
    http = await listenLikeMain(server);
  });
  afterAll(async () => {
    await http?.close();
    await server?.close();
  });

  it('is the socket\'s peer: X-Forwarded-For from an untrusted peer changes nothing', async () => {
    const spent = await post(http.base, PAGE_OF_5);
    expect(spent.status).toBe(200);
    expect(spent.body.extensions?.cost).toMatchObject({ requestedQueryCost: 11, actualQueryCost: 11, throttleStatus: { currentlyAvailable: 9 } });
    expect(spent.headers['ratelimit-remaining']).toBe('9');
    expect((await post(http.base, PAGE_OF_5)).status).toBe(429);

    for (const forwarded of ['203.0.113.7', '198.51.100.1, 203.0.113.8', '127.0.0.9']) {
      const spoofed = await post(http.base, PAGE_OF_5, { headers: { 'x-forwarded-for': forwarded } });
      expect(spoofed.status, `X-Forwarded-For: ${forwarded}`).toBe(429);
      expect(codesOf(spoofed.body)).toEqual(['RATE_LIMITED']);
    }
    // Another peer address is another client.
    const otherPeer = await post(http.base, PAGE_OF_5, { localAddress: '127.0.0.2' });
    expect(otherPeer.status).toBe(200);
    expect(otherPeer.body.extensions?.cost?.throttleStatus?.currentlyAvailable).toBe(9);
  });
});

describe('who a client is behind a trusted proxy, over real HTTP', () => {
  let server: TestServer;
  let http: HttpServer;
  beforeAll(async () => {
    server = await startTestServer({ ...SMALL_BUDGETS, TRUSTED_PROXIES: '127.0.0.1,127.0.0.2' });
    await seedPosts(server.database.db, 5);
    http = await listenLikeMain(server);
  });
  afterAll(async () => {
    await http?.close();
    await server?.close();
  });

  const from = (forwarded: string) => ({ headers: { 'x-forwarded-for': forwarded } });

  it('is the forwarded client: two forwarded addresses have two budgets', async () => {
    expect((await post(http.base, PAGE_OF_5, from('198.51.100.1'))).status).toBe(200);
    expect((await post(http.base, PAGE_OF_5, from('198.51.100.1'))).status).toBe(429);
    // The same client through a second trusted hop (appended by it) is still the same client.
    expect((await post(http.base, PAGE_OF_5, from('198.51.100.1, 127.0.0.1'))).status).toBe(429);

    const other = await post(http.base, PAGE_OF_5, from('198.51.100.2'));
    expect(other.status).toBe(200);
    expect(other.body.extensions?.cost?.throttleStatus?.currentlyAvailable).toBe(9);
    // The proxy's own requests (no header) are the proxy's.
    expect((await post(http.base, PAGE_OF_5)).status).toBe(200);
  });

  it('is a forwarded IPv6 client\'s /64: the host behind it may rotate through its addresses, not its budgets', async () => {
    expect((await post(http.base, PAGE_OF_5, from('2001:db8:1:2::1'))).status).toBe(200);
    expect((await post(http.base, PAGE_OF_5, from('2001:db8:1:2:ffff:ffff:ffff:ffff'))).status).toBe(429);
    expect((await post(http.base, PAGE_OF_5, from('[2001:db8:1:2::7]:443'))).status).toBe(429);
    const nextNetwork = await post(http.base, PAGE_OF_5, from('2001:db8:1:3::1'));
    expect(nextNetwork.status).toBe(200);
    expect(nextNetwork.body.extensions?.cost?.throttleStatus?.currentlyAvailable).toBe(9);
  });

  it('reads a forwarded address with its port as that address', async () => {
    expect((await post(http.base, PAGE_OF_5, from('198.51.100.9:5678'))).status).toBe(200);
    expect((await post(http.base, PAGE_OF_5, from('198.51.100.9'))).status).toBe(429);
  });

  it('puts forwarded entries that are not addresses in one bucket: not the proxy\'s, and no new one per spelling', async () => {
    const viaSecond = { localAddress: '127.0.0.2' };
    // The second proxy's own request spends its bucket, which a malformed entry must not land in.
    expect((await post(http.base, PAGE_OF_5, viaSecond)).status).toBe(200);
    const unknown = await post(http.base, PAGE_OF_5, { ...viaSecond, ...from('unknown') });
    expect(unknown.status).toBe(200);
    expect(unknown.body.extensions?.cost?.throttleStatus?.currentlyAvailable).toBe(9);
    for (const forwarded of ['another-spelling', '', '198.51.100.10, nonsense']) {
      expect((await post(http.base, PAGE_OF_5, { ...viaSecond, ...from(forwarded) })).status, `X-Forwarded-For: ${forwarded}`).toBe(429);
    }
    // Through the other proxy, the same one bucket.
    expect((await post(http.base, PAGE_OF_5, from('unknown'))).status).toBe(429);
  });

  it('holds a refused IPv6 client\'s whole /64 in front of admission, as the budget names it', async () => {
    expect((await post(http.base, PAGE_OF_5, from('2001:db8:9:9::1'))).status).toBe(200);
    expect((await post(http.base, PAGE_OF_5, from('2001:db8:9:9::2'))).status).toBe(429);
    const started = performance.now();
    const neighbour = post(http.base, PAGE_OF_5, from('2001:db8:9:9::3'));
    const otherNetwork = await post(http.base, PAGE_OF_5, from('2001:db8:9:a::1'));
    expect(otherNetwork.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(200);
    expect((await neighbour).status).toBe(429);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
  });

  it('keeps a viewer\'s bucket per viewer, whatever address it comes from', async () => {
    const [first, second] = await Promise.all([server.tokenFor(freshViewer()), server.tokenFor(freshViewer())]);
    expect((await post(http.base, PAGE_OF_5, { ...from('198.51.100.3'), token: first })).status).toBe(200);
    // Same viewer, another address: still spent.
    expect((await post(http.base, PAGE_OF_5, { ...from('198.51.100.4'), token: first })).status).toBe(429);
    expect((await post(http.base, PAGE_OF_5, { ...from('198.51.100.3'), token: first })).status).toBe(429);
    // Another viewer, and anonymous, at the first viewer's address: full buckets of their own.
    const other = await post(http.base, PAGE_OF_5, { ...from('198.51.100.3'), token: second });
    expect(other.status).toBe(200);
    expect(other.body.extensions?.cost?.throttleStatus?.currentlyAvailable).toBe(9);
    const anonymous = await post(http.base, PAGE_OF_5, from('198.51.100.3'));
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.extensions?.cost?.throttleStatus?.currentlyAvailable).toBe(9);
  });
});

describe('a client that does not wait as told, over real HTTP (src/http/penalty-box.ts)', () => {
  let server: TestServer;
  let http: HttpServer;
  beforeAll(async () => {
    // 20 points restoring 2 a second: an 11-point page leaves 9, and a refusal says 1 s (2 more points).
    server = await startTestServer({ COST_BUDGET_VIEWER: '20', COST_RESTORE_VIEWER: '2' });
    await seedPosts(server.database.db, 5);
    http = await listenLikeMain(server);
  });
  afterAll(async () => {
    await http?.close();
    await server?.close();
  });

  it('is held before any work until its Retry-After (a quarter second at most a time), and meanwhile others are served at once', async () => {
    const [hammer, other] = await Promise.all([server.tokenFor(freshViewer()), server.tokenFor(freshViewer())]);
    expect((await post(http.base, PAGE_OF_5, { token: hammer })).status).toBe(200);
    const refused = await post(http.base, PAGE_OF_5, { token: hammer });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');

    // Asked again at once: held, then answered as the budget then stands (still short: 429, a true Retry-After).
    server.statements.reset();
    const premature = post(http.base, PAGE_OF_5, { token: hammer });
    const started = performance.now();
    const meanwhile = await post(http.base, PAGE_OF_5, { token: other });
    expect(meanwhile.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(200);
    const held = await premature;
    const toldAt = performance.now();
    const heldFor = toldAt - started;
    expect(heldFor).toBeGreaterThanOrEqual(240);
    expect(held.status).toBe(429);
    expect(codesOf(held.body)).toEqual(['RATE_LIMITED']);
    expect(Number(held.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // Waiting as the last refusal told is never held, and the points are back.
    await sleep(Math.max(0, 1_050 - (performance.now() - toldAt)));
    const afterWait = performance.now();
    expect((await post(http.base, PAGE_OF_5, { token: hammer })).status).toBe(200);
    expect(performance.now() - afterWait).toBeLessThan(200);
  });

  it('holds at most 16 requests of one client: the rest are refused at once, with the same Retry-After', async () => {
    const hammer = await server.tokenFor(freshViewer());
    expect((await post(http.base, PAGE_OF_5, { token: hammer })).status).toBe(200);
    const refused = await post(http.base, PAGE_OF_5, { token: hammer });
    expect(refused.status).toBe(429);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(http.base, PAGE_OF_5, { token: hammer, headers: { 'x-request-id': `hammer-${i}` } })));
    expect(answers.every((answer) => answer.status === 429 && answer.headers['retry-after'] === '1')).toBe(true);
    expect(answers.every((answer) => codesOf(answer.body)[0] === 'RATE_LIMITED')).toBe(true);
    expect(answers.map((answer) => answer.headers['x-request-id'])).toEqual(answers.map((_, i) => `hammer-${i}`));
    // The box's own refusals carry the budget's RateLimit fields as its refusal left them, meaning what they mean
    // on every answer: 20 points, 9 left, full again in 6 s (11 points at 2 a second).
    expect(refused.headers).toMatchObject({ 'ratelimit-limit': '20', 'ratelimit-remaining': '9', 'ratelimit-reset': '6' });
    const refusedAtOnce = answers.filter((answer) => answer.body.errors![0]!.message.includes('too many requests waiting'));
    expect(refusedAtOnce).toHaveLength(4);
    for (const answer of refusedAtOnce) {
      expect(answer.headers).toMatchObject({ 'ratelimit-limit': '20', 'ratelimit-remaining': '9' });
      expect(Number(answer.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(5);
      expect(Number(answer.headers['ratelimit-reset'])).toBeLessThanOrEqual(6);
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    }
  });
});

describe('rateLimit per operation, and without the budget stage', () => {
  let batching: TestServer;
  let unbudgeted: TestServer;
  beforeAll(async () => {
    [batching, unbudgeted] = await Promise.all([
      startTestServer({ MAX_BATCH_OPERATIONS: '3' }),
      startTestServer({ DISABLE_STAGES: 'budget' }),
    ]);
    await seedPosts(batching.database.db, 5);
  });
  afterAll(async () => {
    await Promise.all([batching?.close(), unbudgeted?.close()]);
  });

  it('reports each batched operation\'s own cost in its rateLimit, not the last one charged', async () => {
    const token = await batching.tokenFor(freshViewer());
    const response = await batching.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify([
        { query: '{ rateLimit { cost } }' },
        { query: `{ rateLimit { cost } ${PAGE_OF_5.slice(1)}` },
        { query: '{ rateLimit { cost } viewer { id } }' },
      ]),
    });
    expect(response.status).toBe(200);
    const results = (await response.json()) as { data: { rateLimit: { cost: number } } }[];
    expect(results.map((result) => result.data.rateLimit.cost)).toEqual([0, 11, 1]);
  });

  it('answers rateLimit with a clear error, not an internal one, when a load test turned the budget off', async () => {
    const response = await unbudgeted.graphql(RATE_LIMIT);
    expect(response.status).toBe(200);
    expect(codesOf(response.body)).toEqual(['BUDGET_DISABLED']);
  });
});
