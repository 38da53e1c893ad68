/**
 * The response cache through the real node:http stack (listenLikeMain): persisted reads over GET kept and
 * answered with their headers, conditional GETs answered 304 without executing, writes dropping exactly what
 * they changed (a post in its followers' feeds, a transfer in both balances), private answers kept per viewer,
 * one query for a stampede of misses, and two servers over one Redis prefix sharing entries and drops.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApolloManifest } from '../../src/persisted/manifest.js';
import { globalId } from '../helpers/assertions.js';
import { createPosts, createUser, follow } from '../helpers/factories.js';
import { listenLikeMain, postGraphQL, type HttpServer } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connectedRedis } from '../helpers/redis-server.js';
import { removeKeys } from '../helpers/cost-buckets.js';
import { sleep } from '../helpers/wait.js';
import { redisResponseStore } from '../../src/store/response-store.js';

const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
const idOf = (name: string) => manifest.operations.find((operation) => operation.name === name)!.id;

interface Served {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: Record<string, unknown>; errors?: { extensions?: { code?: string } }[] } | undefined;
}

async function get(http: HttpServer, name: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Served> {
  const query = new URLSearchParams({ documentId: idOf(name), variables: JSON.stringify(variables) });
  const response = await fetch(`${http.base}/graphql?${query.toString()}`, { headers: { accept: 'application/graphql-response+json', ...headers } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text ? (JSON.parse(text) as Served['body']) : undefined };
}

async function post(http: HttpServer, name: string, variables: Record<string, unknown>, token: string) {
  return (await postGraphQL(http.base, { documentId: idOf(name), variables }, { authorization: `Bearer ${token}` })).body;
}

let server: TestServer;
let http: HttpServer;
let alice: number;
let bob: number;
let carol: number;
const bearer = async (userId: number) => ({ authorization: `Bearer ${await server.tokenFor(userId)}` });

beforeAll(async () => {
  server = await startTestServer({ PERSISTED_OPERATIONS: 'trusted' });
  http = await listenLikeMain(server);
  const db = server.database.db;
  [alice, bob, carol] = [(await createUser(db, { balance: 10_000n })).id, (await createUser(db, { balance: 500n })).id, (await createUser(db)).id];
  await follow(db, alice, bob);
  await createPosts(db, Array.from({ length: 5 }, (_, i) => ({ authorId: bob, body: `bob ${i}` })));
});
afterAll(async () => {
  await http?.close();
  await server?.close();
});
beforeEach(() => server.statements.reset());

describe('a public read over GET', () => {
  it('is kept: the first answer is a miss, the next the same bytes from the cache with no SQL, with its headers', async () => {
    const variables = { first: 3, after: null, run: randomUUID() }; // a fresh key for this test
    const miss = await get(http, 'NewestPosts', variables);
    expect(miss.status).toBe(200);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    // The full max-age, with Age counting how much of it has gone (RFC 9111): never both subtracted.
    expect(miss.headers.get('cache-control')).toBe('public, max-age=60, s-maxage=60');
    expect(miss.headers.get('age')).toBe('0');
    // A strong ETag per representation: this one is the graphql-response+json one.
    expect(miss.headers.get('etag')).toMatch(/^"[\w-]{43}\.gr"$/);
    // A public answer carries no client's RateLimit-* (a shared cache would hand them to everyone).
    expect(miss.headers.get('ratelimit-remaining')).toBeNull();
    expect(miss.headers.get('vary')).toBe('Accept');
    expect(miss.body!.errors).toBeUndefined();
    // The cost report is per request: a kept answer carries none (the RateLimit-* headers still do).
    expect(Object.keys(miss.body!)).toEqual(['data']);
    expect(server.statements.count).toBeGreaterThan(0);

    server.statements.reset();
    const hit = await get(http, 'NewestPosts', variables);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.text).toBe(miss.text);
    expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'));
    expect(hit.headers.get('content-type')).toBe('application/graphql-response+json; charset=utf-8');
    expect(hit.headers.get('x-request-id')).toBeTruthy();
    expect(server.statements.count).toBe(0);
    // The same bytes as application/json are another representation, with their own ETag.
    const asJson = await get(http, 'NewestPosts', variables, { accept: 'application/json' });
    expect(asJson.text).toBe(miss.text);
    expect(asJson.headers.get('etag')).toBe(miss.headers.get('etag')!.replace('.gr"', '"'));
  });

  it('keeps only JSON answers: a stream asked for is neither kept nor served from the cache', async () => {
    const variables = { first: 1, run: randomUUID() };
    const stream = await fetch(`${http.base}/graphql?${new URLSearchParams({ documentId: idOf('NewestPosts'), variables: JSON.stringify(variables) }).toString()}`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await stream.text();
    const json = await get(http, 'NewestPosts', variables);
    expect(json.headers.get('x-cache')).toBe('MISS');
    expect(json.body!.data).toBeDefined();
    const again = await fetch(`${http.base}/graphql?${new URLSearchParams({ documentId: idOf('NewestPosts'), variables: JSON.stringify(variables) }).toString()}`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(again.headers.get('x-cache')).toBeNull();
    expect(again.headers.get('content-type')).toMatch(/^text\/event-stream/);
  });

  it('reads a URL as the persisted stage does: what it refuses is refused, cached or not', async () => {
    const variables = JSON.stringify({ first: 1 });
    await get(http, 'NewestPosts', { first: 1 });
    const query = new URLSearchParams({ documentId: idOf('NewestPosts'), variables, extensions: JSON.stringify({ persistedQuery: { version: 2, sha256Hash: idOf('NewestPosts') } }) });
    const response = await fetch(`${http.base}/graphql?${query.toString()}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('x-cache')).toBeNull();
  });

  it('answers a conditional GET 304 without executing, and 200 to an ETag that is not current', async () => {
    const variables = { first: 2, run: randomUUID() };
    const first = await get(http, 'NewestPosts', variables);
    server.statements.reset();
    const notModified = await get(http, 'NewestPosts', variables, { 'if-none-match': first.headers.get('etag')! });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect(notModified.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(server.statements.count).toBe(0);
    const changed = await get(http, 'NewestPosts', variables, { 'if-none-match': '"not-the-current-one"' });
    expect(changed.status).toBe(200);
  });

  it('answers a conditional GET 304 after executing when the answer was not kept but has not changed', async () => {
    const variables = { first: 2, run: randomUUID() };
    const first = await get(http, 'NewestPosts', variables);
    // A post by someone else drops every newest-posts answer; the page of 2 of this test changes too, so a
    // conditional GET with the old ETag now gets the new page.
    await post(http, 'CreatePost', { input: { body: 'new on top' } }, await server.tokenFor(carol));
    const after = await get(http, 'NewestPosts', variables, { 'if-none-match': first.headers.get('etag')! });
    expect(after.status).toBe(200);
    expect(after.headers.get('x-cache')).toBe('MISS');
    // And with the new ETag, a 304 straight from the cache.
    const again = await get(http, 'NewestPosts', variables, { 'if-none-match': after.headers.get('etag')! });
    expect(again.status).toBe(304);
  });

  it('is never served to a request whose token does not verify: 401, as without the cache', async () => {
    const variables = { first: 1, run: randomUUID() };
    await get(http, 'NewestPosts', variables);
    const refused = await get(http, 'NewestPosts', variables, { authorization: 'Bearer not-a-token' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-cache')).toBeNull();
  });
});

describe('what writes drop', () => {
  it('createPost: the post is in a follower\'s feed on their next read', async () => {
    const asAlice = await bearer(alice);
    const before = await get(http, 'Feed', { first: 5 }, asAlice);
    expect(before.headers.get('x-cache')).toBe('MISS');
    expect((await get(http, 'Feed', { first: 5 }, asAlice)).headers.get('x-cache')).toBe('HIT');

    const created = await post(http, 'CreatePost', { input: { body: `fresh from bob ${randomUUID()}` } }, await server.tokenFor(bob));
    const body = (created.data!['createPost'] as { post: { body: string } }).post.body;

    const after = await get(http, 'Feed', { first: 5 }, asAlice);
    expect(after.headers.get('x-cache')).toBe('MISS');
    const feed = after.body!.data!['feed'] as { edges: { node: { body: string } }[] };
    expect(feed.edges[0]!.node.body).toBe(body);
  });

  it('transfer: both users\' balances are new on their next reads', async () => {
    const [asAlice, asBob] = [await bearer(alice), await bearer(bob)];
    const balanceOf = async (headers: Record<string, string>) => {
      const served = await get(http, 'Viewer', {}, headers);
      return { cache: served.headers.get('x-cache'), amount: (served.body!.data!['viewer'] as { balance: { amount: string } }).balance.amount };
    };
    const [aliceBefore, bobBefore] = [await balanceOf(asAlice), await balanceOf(asBob)];
    expect((await balanceOf(asAlice)).cache).toBe('HIT');
    expect((await balanceOf(asBob)).cache).toBe('HIT');

    const moved = await post(http, 'Transfer', { input: { to: globalId('User', bob), amount: '1.00', currency: 'USD', idempotencyKey: randomUUID() } }, await server.tokenFor(alice));
    expect((moved.data!['transfer'] as { errors: unknown[] }).errors).toEqual([]);

    const [aliceAfter, bobAfter] = [await balanceOf(asAlice), await balanceOf(asBob)];
    expect(Number(aliceAfter.amount)).toBeCloseTo(Number(aliceBefore.amount) - 1, 2);
    expect(Number(bobAfter.amount)).toBeCloseTo(Number(bobBefore.amount) + 1, 2);
  });
});

describe('a private read', () => {
  it('is kept per viewer, Cache-Control private and Vary Authorization, and never reaches another viewer', async () => {
    const [asAlice, asCarol] = [await bearer(alice), await bearer(carol)];
    const forAlice = await get(http, 'Viewer', {}, asAlice);
    expect(forAlice.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
    expect(forAlice.headers.get('vary')).toBe('Accept, Authorization');
    const forCarol = await get(http, 'Viewer', {}, asCarol);
    expect((forCarol.body!.data!['viewer'] as { id: string }).id).toBe(globalId('User', carol));
    expect(forCarol.text).not.toContain(globalId('User', alice));
    // Anonymous: viewer is null, which is not kept; no one's answer is served either.
    const anonymous = await get(http, 'Viewer');
    expect(anonymous.body!.data!['viewer']).toBeNull();
    expect(anonymous.headers.get('cache-control')).toBe('no-store');
  });
});

describe('what is not kept', () => {
  it('a POST, an error, and a GET of an unknown id (no-store, so no proxy keeps the refusal)', async () => {
    const response = await fetch(`${http.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ documentId: idOf('NewestPosts') }) });
    expect(response.headers.get('x-cache')).toBeNull();
    const unknown = await fetch(`${http.base}/graphql?documentId=${'0'.repeat(64)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('cache-control')).toBe('no-store');
    const tooLarge = await get(http, 'NewestPosts', { first: 5000 });
    expect(tooLarge.headers.get('cache-control')).toBe('no-store');
    expect((await get(http, 'NewestPosts', { first: 5000 })).headers.get('x-cache')).toBeNull();
  });
});

describe('a stampede', () => {
  it('sends one query for a hundred concurrent misses of one key', async () => {
    const variables = { first: 4, run: randomUUID() };
    server.statements.reset();
    const answers = await Promise.all(Array.from({ length: 100 }, () => get(http, 'NewestPosts', variables)));
    expect(new Set(answers.map((answer) => answer.text)).size).toBe(1);
    expect(answers.filter((answer) => answer.headers.get('x-cache') === 'MISS')).toHaveLength(1);
    expect(server.statements.count).toBe(1);
  });
});

describe('a hit', () => {
  let small: TestServer;
  let smallHttp: HttpServer;
  beforeAll(async () => {
    // Restored slowly enough that the test's few hundred milliseconds give back nothing the assertions see.
    small = await startTestServer({ PERSISTED_OPERATIONS: 'trusted', COST_BUDGET_ANONYMOUS: '40', COST_RESTORE_ANONYMOUS: '1', COST_BUDGET_VIEWER: '1000', COST_RESTORE_VIEWER: '1' });
    smallHttp = await listenLikeMain(small);
  });
  afterAll(async () => {
    await smallHttp?.close();
    await small?.close();
  });

  it('is refused to a client whose budget would refuse the operation: an anonymous client, a viewer\'s costly page', async () => {
    const variables = { first: 20 }; // about 60 points: within a viewer's 1,000, above the anonymous 40 here
    const forViewer = await get(smallHttp, 'NewestPosts', variables, await bearer(alice));
    expect(forViewer.headers.get('x-cache')).toBe('MISS');
    expect((await get(smallHttp, 'NewestPosts', variables, await bearer(alice))).headers.get('x-cache')).toBe('HIT');
    const anonymous = await get(smallHttp, 'NewestPosts', variables);
    expect(anonymous.status).toBe(400);
    expect(anonymous.body!.errors![0]!.extensions!.code).toBe('COST_LIMIT_EXCEEDED');
  });

  it('costs its client 1 point, and a client with none left gets the budget\'s 429, not the answer', async () => {
    // A private answer shows the client's RateLimit-* (a public one goes without, for shared caches).
    const dave = await createUser(small.database.db);
    const asDave = { authorization: `Bearer ${await small.tokenFor(dave.id)}` };
    const miss = await get(smallHttp, 'Viewer', {}, asDave);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    const afterMiss = Number(miss.headers.get('ratelimit-remaining'));
    const hit = await get(smallHttp, 'Viewer', {}, asDave);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(Number(hit.headers.get('ratelimit-remaining'))).toBe(afterMiss - 1);

    const variables = { first: 1 };
    await get(smallHttp, 'NewestPosts', variables);

    let refused: Served | undefined;
    for (let i = 0; i < 60 && !refused; i += 1) {
      const served = await get(smallHttp, 'NewestPosts', variables);
      if (served.status === 429) refused = served;
    }
    expect(refused).toBeDefined();
    expect(refused!.body!.errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused!.headers.get('x-cache')).toBeNull();
    expect(refused!.text).not.toContain('"data"');
  });
});

describe.runIf(process.env['REDIS_URL'])('two instances over one Redis', () => {
  let other: TestServer;
  let otherHttp: HttpServer;
  let first: TestServer;
  let firstHttp: HttpServer;

  beforeAll(async () => {
    const prefix = `tally:test:${randomUUID()}:`;
    // Each test server has its own database; what the two share here is Redis, which is what this is about.
    first = await startTestServer({ PERSISTED_OPERATIONS: 'trusted' }, undefined, { redisPrefix: prefix });
    other = await startTestServer({ PERSISTED_OPERATIONS: 'trusted' }, undefined, { redisPrefix: prefix });
    [firstHttp, otherHttp] = [await listenLikeMain(first), await listenLikeMain(other)];
  });
  afterAll(async () => {
    await firstHttp?.close();
    await otherHttp?.close();
    await first?.close();
    await other?.close();
  });

  it('keep no miss that began before the other instance dropped one of its tags', async () => {
    const prefix = `tally:test:${randomUUID()}:{cache}:`;
    const [a, b] = [await connectedRedis(process.env['REDIS_URL']!), await connectedRedis(process.env['REDIS_URL']!)];
    try {
      const quiet = { onUnavailable: () => {}, onRecovered: () => {} };
      const [onA, onB] = [redisResponseStore(a, quiet, { prefix }), redisResponseStore(b, quiet, { prefix })];
      const began = (await onA.generation())!;
      await onB.invalidate(['Query.posts']);
      expect(await onA.set('k', Buffer.from('read before the write'), ['Query.posts', 'User.posts'], 10_000, began)).toBe(false);
      expect(await onA.get('k')).toBeUndefined();
      expect(await onA.set('k', Buffer.from('read after it'), ['Query.posts'], 10_000, (await onA.generation())!)).toBe(true);
      expect((await onB.get('k'))?.toString()).toBe('read after it');
      // A tag's list holds only live entries: an expired one leaves it when the next joins.
      expect(await onA.set('short', Buffer.from('x'), ['User.posts'], 1, (await onA.generation())!)).toBe(true);
      await sleep(20);
      expect(await onA.set('long', Buffer.from('y'), ['User.posts'], 10_000, (await onA.generation())!)).toBe(true);
      expect(await a.zrange(`${prefix}t:User.posts`, '0', '-1')).toEqual([`${prefix}e:long`]);
      await removeKeys(a, prefix);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('share entries and drops: one keeps, the other serves it, a write on one drops it for both', async () => {
    const author = await createUser(first.database.db);
    await createPosts(first.database.db, [{ authorId: author.id, body: 'shared' }]);
    const variables = { first: 1, run: randomUUID() };
    const kept = await get(firstHttp, 'NewestPosts', variables);
    expect(kept.headers.get('x-cache')).toBe('MISS');
    const served = await get(otherHttp, 'NewestPosts', variables);
    expect(served.headers.get('x-cache')).toBe('HIT');
    expect(served.text).toBe(kept.text);

    await post(firstHttp, 'CreatePost', { input: { body: 'drops it everywhere' } }, await first.tokenFor(author.id));
    expect((await get(otherHttp, 'NewestPosts', variables)).headers.get('x-cache')).toBe('MISS');
  });
});
