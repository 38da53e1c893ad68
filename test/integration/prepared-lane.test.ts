/**
 * The prepared lane against yoga, answer by answer: every operation of the manifest, in every situation the suite
 * knows (anonymous, a viewer, a bad token, bad variables, over the budget, a typed mutation error, partial data, a
 * database fault), sent over real HTTP to two servers that differ only in the lane (DISABLE_STAGES=lane sends every
 * request through yoga). Each has its own database, seeded alike, and its own bucket on a clock held still, so the
 * two see the same state in the same order: the status, the body's bytes and the headers that matter must be the
 * same. The request id is the client's own, the same on both.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApolloManifest } from '../../src/persisted/manifest.js';
import { memoryCostBucket } from '../../src/store/cost-bucket.js';
import { globalId } from '../helpers/assertions.js';
import { addEntry, createPosts, createUser, follow } from '../helpers/factories.js';
import { listenLikeMain, type HttpServer } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
const idOf = (name: string) => manifest.operations.find((each) => each.name === name)!.id;

/** The headers a client or a cache acts on; Date and Connection are the transport's. */
const COMPARED = ['content-type', 'content-length', 'x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after', 'www-authenticate', 'cache-control', 'etag', 'vary', 'allow', 'accept'];

interface Side {
  readonly server: TestServer;
  readonly http: HttpServer;
  tokens: Record<'alice' | 'bob', string>;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | null>;
  readonly body: string;
}

interface Asked {
  readonly method?: 'GET' | 'POST';
  /** The id's spelling, as the persisted stage reads them all. */
  readonly idAs?: 'documentId' | 'doc_id' | 'id' | 'apq';
  readonly operation: string;
  readonly variables?: Record<string, unknown>;
  readonly as?: 'alice' | 'bob';
  readonly authorization?: string;
  readonly accept?: string;
}

let requests = 0;

const INSTANT = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

async function ask(side: Side, asked: Asked, requestId: string): Promise<Answer> {
  const id = idOf(asked.operation);
  const params: Record<string, unknown> =
    asked.idAs === 'apq' ? { extensions: { persistedQuery: { version: 1, sha256Hash: id } } } : { [asked.idAs ?? 'documentId']: id };
  if (asked.variables) params['variables'] = asked.variables;
  const headers: Record<string, string> = { 'x-request-id': requestId, accept: asked.accept ?? 'application/graphql-response+json' };
  if (asked.as) headers['authorization'] = `Bearer ${side.tokens[asked.as]}`;
  if (asked.authorization !== undefined) headers['authorization'] = asked.authorization;
  let response: Response;
  if (asked.method === 'GET') {
    const search = new URLSearchParams(Object.entries(params).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]));
    response = await fetch(`${side.http.base}/graphql?${search.toString()}`, { headers });
  } else {
    response = await fetch(`${side.http.base}/graphql`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(params) });
  }
  // What a mutation writes is stamped with the time it ran, a few ms apart on the two: the instant is set aside.
  const body = (await response.text()).replace(INSTANT, '<instant>');
  return { status: response.status, headers: Object.fromEntries(COMPARED.map((name) => [name, response.headers.get(name)])), body };
}

/** Requests the lane answered on this side, from its metrics. */
async function laneAnswered(side: Side): Promise<number> {
  const metric = await side.server.metrics.registry.getSingleMetric('tally_prepared_lane_requests_total')!.get();
  return metric.values.reduce((sum, value) => sum + value.value, 0);
}

/**
 * Sends the same request to both, lane first, and holds the two answers to each other; then whether the lane
 * answered it (yoga's side never does), so a lane that left everything to yoga could not pass.
 */
async function same(lane: Side, yoga: Side, asked: Asked): Promise<Answer & { readonly byLane: boolean }> {
  requests += 1;
  const requestId = `lane-diff-${requests}`;
  const before = await laneAnswered(lane);
  const viaLane = await ask(lane, asked, requestId);
  const viaYoga = await ask(yoga, asked, requestId);
  expect(viaLane, JSON.stringify(asked)).toEqual(viaYoga);
  expect(await laneAnswered(yoga)).toBe(0);
  return { ...viaLane, byLane: (await laneAnswered(lane)) > before };
}

async function side(env: Record<string, string>): Promise<Side> {
  // A clock that does not move: both buckets refill alike (not at all), whatever the time between the two requests.
  const server = await startTestServer({ PERSISTED_OPERATIONS: 'trusted', ...env }, undefined, { costBucket: memoryCostBucket({ now: () => 0 }) });
  const db = server.database.db;
  const alice = await createUser(db, { username: 'alice', name: 'Alice', balance: 10_000n, createdAt: new Date(Date.UTC(2025, 5, 1)) });
  const bob = await createUser(db, { username: 'bob', name: 'Bob', balance: 500n, createdAt: new Date(Date.UTC(2025, 5, 2)) });
  await createPosts(
    db,
    Array.from({ length: 6 }, (_, index) => ({ authorId: index % 2 === 0 ? alice.id : bob.id, body: `post ${index}`, createdAt: new Date(Date.UTC(2026, 0, 1, 0, index)) })),
  );
  await follow(db, alice.id, bob.id, new Date(Date.UTC(2026, 0, 2)));
  await addEntry(db, alice.id, { kind: 'DEPOSIT', amount: 2_500n, createdAt: new Date(Date.UTC(2026, 0, 3)) });
  return { server, http: await listenLikeMain(server), tokens: { alice: await server.tokenFor(alice.id), bob: await server.tokenFor(bob.id) } };
}

/**
 * The two servers of a describe block, the same `env` but for the lane, started before its tests (then `prepare`d
 * alike) and closed after them; read `pair.lane` and `pair.yoga` inside the tests.
 */
function pairOf(env: Record<string, string>, prepare?: (side: Side) => Promise<unknown>): { lane: Side; yoga: Side } {
  const pair = {} as { lane: Side; yoga: Side };
  beforeAll(async () => {
    [pair.lane, pair.yoga] = await Promise.all([side(env), side({ ...env, DISABLE_STAGES: 'lane' })]);
    if (prepare) await Promise.all([prepare(pair.lane), prepare(pair.yoga)]);
  });
  afterAll(async () => {
    for (const each of [pair.lane, pair.yoga]) {
      await each?.http.close();
      // A test may have closed the database already.
      await each?.server.close().catch(() => {});
    }
  });
  return pair;
}

/** Every operation of the manifest with variables that run it, as the viewer who may. */
const RUNS: readonly Asked[] = [
  { operation: 'Viewer', as: 'alice' },
  { operation: 'Feed', as: 'alice', variables: { first: 2 } },
  { operation: 'Feed', as: 'alice' },
  { operation: 'NewestPosts', variables: { first: 3 } },
  { operation: 'NewestPosts', variables: { first: 2 }, method: 'GET' },
  { operation: 'Profile', variables: { username: 'bob', first: 2 } },
  { operation: 'Profile', variables: { username: 'nobody' } },
  { operation: 'Followers', variables: { username: 'bob' }, method: 'GET' },
  { operation: 'Transactions', as: 'alice', variables: { first: 5 } },
  { operation: 'CreatePost', as: 'bob', variables: { input: { body: 'from the differential test' } } },
  { operation: 'Deposit', as: 'bob', variables: { input: { amount: '5.00', currency: 'USD', idempotencyKey: 'diff-deposit' } } },
  { operation: 'Deposit', as: 'bob', variables: { input: { amount: '5.00', currency: 'USD', idempotencyKey: 'diff-deposit' } } },
  { operation: 'Withdraw', as: 'bob', variables: { input: { amount: '1.00', currency: 'USD', idempotencyKey: 'diff-withdraw' } } },
  { operation: 'SignUp', variables: { input: { username: 'carol', email: 'carol@example.com', name: 'Carol' } } },
];

/** Typed mutation errors: outcomes the client selects, not GraphQL errors. */
const TYPED_ERRORS: readonly Asked[] = [
  { operation: 'Withdraw', as: 'bob', variables: { input: { amount: '1000000.00', currency: 'USD', idempotencyKey: 'diff-too-much' } } },
  { operation: 'Transfer', as: 'bob', variables: { input: { to: globalId('User', 2), amount: '1.00', currency: 'USD', idempotencyKey: 'diff-self' } } },
  { operation: 'Deposit', as: 'bob', variables: { input: { amount: '5.00', currency: 'EUR', idempotencyKey: 'diff-currency' } } },
  { operation: 'Deposit', as: 'bob', variables: { input: { amount: '-5', currency: 'USD', idempotencyKey: 'diff-negative' } } },
  { operation: 'FollowUser', as: 'alice', variables: { input: { userId: globalId('User', 1) } } },
  { operation: 'SignUp', variables: { input: { username: 'alice', email: 'alice2@example.com', name: 'Alice again' } } },
  { operation: 'Transfer', as: 'alice', variables: { input: { to: globalId('User', 2), amount: '1.50', currency: 'USD', idempotencyKey: 'diff-transfer' } } },
  { operation: 'FollowUser', as: 'bob', variables: { input: { userId: globalId('User', 1) } } },
  { operation: 'UnfollowUser', as: 'bob', variables: { input: { userId: globalId('User', 1) } } },
];

/** Who is asking, wrongly or not at all. */
const TOKENS: readonly Asked[] = [
  { operation: 'Viewer' },
  { operation: 'Feed' },
  { operation: 'Transactions' },
  { operation: 'Viewer', authorization: 'Bearer not-a-token' },
  { operation: 'Viewer', authorization: 'Basic YWxpY2U6c2VjcmV0' },
  { operation: 'Viewer', authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl' },
  { operation: 'NewestPosts', authorization: '' },
  { operation: 'CreatePost', variables: { input: { body: 'anonymous' } } },
];

/** Variables that do not fit, and arguments the resolvers refuse (partial data: a field's error beside data). */
const BAD_VARIABLES: readonly Asked[] = [
  { operation: 'NewestPosts', variables: { first: 'twenty' } },
  { operation: 'NewestPosts', variables: { first: 1.5 } },
  { operation: 'NewestPosts', variables: { first: -1 } },
  { operation: 'NewestPosts', variables: { first: 100_000 } },
  { operation: 'NewestPosts', variables: { after: 'not a cursor' } },
  { operation: 'Profile', variables: {} },
  { operation: 'Profile', variables: { username: null } },
  { operation: 'Profile', variables: { username: 'bob', after: 'garbage' } },
  { operation: 'CreatePost', as: 'bob', variables: { input: { body: '' } } },
  { operation: 'CreatePost', as: 'bob', variables: { input: { body: 'x', extra: true } } },
  { operation: 'Transfer', as: 'alice', variables: { input: { to: 'not-an-id', amount: '1.00', currency: 'USD', idempotencyKey: 'diff-bad-id' } } },
  { operation: 'Deposit', as: 'bob', variables: { input: { amount: '5.00', currency: 'XYZ' } } },
  { operation: 'Viewer', variables: { unused: 'x'.repeat(20_000) } },
  { operation: 'Viewer', variables: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) as Record<string, unknown> },
];

/** Ways of asking that the lane must answer as yoga does, or leave to it. */
const SPELLINGS: readonly Asked[] = [
  { operation: 'Profile', idAs: 'doc_id', variables: { username: 'alice', first: 1 } },
  { operation: 'Profile', idAs: 'id', variables: { username: 'alice', first: 1 } },
  { operation: 'Profile', idAs: 'apq', variables: { username: 'alice', first: 1 } },
  { operation: 'Profile', idAs: 'apq', variables: { username: 'alice', first: 1 }, method: 'GET' },
  { operation: 'NewestPosts', accept: 'application/json', variables: { first: 'x' } },
  { operation: 'Profile', accept: '*/*', variables: { username: 'alice', first: 1 } },
  { operation: 'Profile', accept: 'application/json; charset=latin1, application/graphql-response+json', variables: { username: 'alice', first: 1 } },
  { operation: 'Profile', accept: 'text/html', variables: { username: 'alice', first: 1 } },
  { operation: 'Profile', accept: 'text/event-stream', variables: { username: 'alice', first: 1 } },
  { operation: 'CreatePost', as: 'bob', method: 'GET', variables: { input: { body: 'over GET' } } },
];

describe.each([
  ['response cache on', {}],
  ['response cache off', { RESPONSE_CACHE: 'false' }],
])('the prepared lane answers as yoga does (%s)', (_, env) => {
  const cacheOn = !('RESPONSE_CACHE' in env);
  const pair = pairOf(env);

  it('runs every operation of the manifest', async () => {
    const names = new Set(manifest.operations.map((operation) => operation.name));
    for (const asked of [...RUNS, ...TYPED_ERRORS]) names.delete(asked.operation);
    expect([...names]).toEqual([]);
    for (const asked of RUNS) {
      const answer = await same(pair.lane, pair.yoga, asked);
      expect(answer.status, asked.operation).toBe(200);
      expect(JSON.parse(answer.body), asked.operation).not.toHaveProperty('errors');
      // A query over GET whose answer the cache keeps stays with yoga's stages; everything else is the lane's.
      expect(answer.byLane, JSON.stringify(asked)).toBe(!(asked.method === 'GET' && cacheOn));
    }
  });

  it('answers typed mutation errors alike', async () => {
    for (const asked of TYPED_ERRORS) expect((await same(pair.lane, pair.yoga, asked)).byLane).toBe(true);
  });

  it('answers the anonymous and bad tokens alike', async () => {
    for (const asked of TOKENS) expect((await same(pair.lane, pair.yoga, asked)).byLane).toBe(true);
  });

  it('answers bad variables and refused arguments alike', async () => {
    for (const asked of BAD_VARIABLES) expect((await same(pair.lane, pair.yoga, asked)).byLane).toBe(true);
  });

  it('answers every spelling of the id and every Accept alike, leaving to yoga what it does not take', async () => {
    const byLane = [];
    for (const asked of SPELLINGS) byLane.push((await same(pair.lane, pair.yoga, asked)).byLane);
    // The GET by APQ hash is a cacheable query over GET; HTML and event streams are yoga's; a mutation over GET is its 405.
    expect(byLane).toEqual([true, true, true, !cacheOn, true, true, true, false, false, false]);
  });
});

describe('the prepared lane over the budget', () => {
  // A budget of 100 and no refill (the clock stands still): a few pages, then refusals.
  const pair = pairOf({ COST_BUDGET_VIEWER: '100', COST_BUDGET_ANONYMOUS: '30', MAX_COST: '60', RESPONSE_CACHE: 'false' });

  it('prices, charges, refunds and refuses alike', async () => {
    const statuses: number[] = [];
    for (let round = 0; round < 6; round += 1) {
      statuses.push((await same(pair.lane, pair.yoga, { operation: 'Feed', as: 'alice', variables: { first: 10 } })).status);
      statuses.push((await same(pair.lane, pair.yoga, { operation: 'NewestPosts', variables: { first: 3 } })).status);
    }
    expect((await same(pair.lane, pair.yoga, { operation: 'NewestPosts', variables: { first: 50 } })).byLane).toBe(true);
    expect((await same(pair.lane, pair.yoga, { operation: 'Feed', as: 'bob', variables: { first: 100 } })).byLane).toBe(true);
    expect(statuses).toContain(429);
    expect(statuses).toContain(200);
  });
});

describe('the prepared lane on a database fault', () => {
  // The database goes away under both: every statement now fails.
  const pair = pairOf({ RESPONSE_CACHE: 'false' }, (each) => each.server.database.close());

  it('masks and answers the fault alike', async () => {
    for (const asked of [...RUNS.slice(0, 6), TYPED_ERRORS[0]!]) {
      const answer = await same(pair.lane, pair.yoga, asked);
      expect(answer.byLane, asked.operation).toBe(true);
      expect(JSON.parse(answer.body), asked.operation).toHaveProperty('errors');
    }
  });
});
