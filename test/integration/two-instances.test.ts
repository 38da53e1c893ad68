/**
 * Two Tally processes on one machine (src/main.ts twice, two ports) against one PostgreSQL database and one Redis,
 * as two instances behind a load balancer are: what one does the other sees. A viewer's cost budget spent on one
 * is spent on the other; a query registered (APQ) on one runs by its hash on the other; an answer cached by one is
 * served by the other, and a write on either drops it from both. Then WORKERS=2: one port, two processes, both
 * serving, /metrics counting both, a killed worker replaced, SIGTERM stopping both with exit 0.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config.js';
import { sha256Hex, type ApolloManifest } from '../../src/persisted/manifest.js';
import { freePort } from '../../loadtest/servers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createPosts, createUser } from '../helpers/factories.js';
import { bearer, postGraphQL } from '../helpers/http.js';
import { startMain, type MainProcess } from '../helpers/main-process.js';
import { waitFor } from '../helpers/wait.js';

const url = process.env['DATABASE_URL'];
const redisUrl = process.env['REDIS_URL'];
const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
const newestPosts = manifest.operations.find((operation) => operation.name === 'NewestPosts')!.id;

/** 1 + 5 × (edge 1 + post 1): 11 points of a 30-point budget. */
const PAGE_OF_5 = '{ posts(first: 5) { edges { node { id } } } }';

const post = (port: number, body: unknown, token?: string) => postGraphQL(`http://127.0.0.1:${port}`, body, { accept: 'application/json', ...bearer(token) });

async function getNewest(port: number) {
  const query = new URLSearchParams({ documentId: newestPosts, variables: JSON.stringify({ first: 5 }) });
  const response = await fetch(`http://127.0.0.1:${port}/graphql?${query.toString()}`);
  const body = (await response.json()) as { data: { posts: { edges: { node: { body: string } }[] } } };
  return { cache: response.headers.get('x-cache'), bodies: body.data.posts.edges.map((edge) => edge.node.body) };
}

describe.runIf(url && redisUrl)('two instances, one PostgreSQL, one Redis', () => {
  let testDb: TestDatabase;
  let a: MainProcess;
  let b: MainProcess;
  let token: string;
  let writer: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const viewer = await createUser(testDb.database.db);
    await createPosts(testDb.database.db, Array.from({ length: 5 }, (_, index) => ({ authorId: viewer.id, body: `post ${index}` })));
    const jwt = loadConfig({ NODE_ENV: 'test' }).jwt;
    token = await signToken(jwt, viewer.id);
    // Another viewer writes: the first one's budget is spent on purpose.
    writer = await signToken(jwt, (await createUser(testDb.database.db)).id);
    // One deployment: the same database, Redis and key prefix (a prefix of this run's own, so test files that
    // share the machine's Redis keep apart).
    const shared = {
      DATABASE_URL: testDb.url!,
      REDIS_URL: redisUrl!,
      REDIS_KEY_PREFIX: `tally:test:${randomUUID()}:`,
      COST_BUDGET_VIEWER: '30',
      COST_RESTORE_VIEWER: '1',
      PERSISTED_OPERATIONS: 'open',
    };
    [a, b] = await Promise.all([startMain(shared), startMain(shared)]);
  }, 90_000);
  afterAll(async () => {
    a?.kill();
    b?.kill();
    await testDb?.close();
  });

  it('share a viewer\'s cost budget: what one spent, the other refuses', async () => {
    for (const spent of [19, 8]) {
      const answer = await post(a.port, { query: PAGE_OF_5 }, token);
      expect(answer.status).toBe(200);
      expect(Number(answer.headers.get('ratelimit-remaining'))).toBeLessThanOrEqual(spent);
    }
    // 8 points left of 30, wherever the viewer asks: b alone would have all 30.
    const refused = await post(b.port, { query: PAGE_OF_5 }, token);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('share automatic persisted queries: registered on one, run by hash on the other', async () => {
    const query = `{ posts(first: 1) { edges { cursor } } __typename }`;
    const persistedQuery = { version: 1, sha256Hash: sha256Hex(query) };
    const unknown = await post(b.port, { extensions: { persistedQuery } });
    expect(unknown.body.errors?.[0]?.message).toBe('PersistedQueryNotFound');
    expect((await post(a.port, { query, extensions: { persistedQuery } })).status).toBe(200);
    const byHash = await post(b.port, { extensions: { persistedQuery } });
    expect(byHash.status).toBe(200);
    expect(byHash.body.data).toMatchObject({ __typename: 'Query' });
  });

  it('share the response cache, and a write on either drops the answer from both', async () => {
    expect((await getNewest(a.port)).cache).toBe('MISS');
    expect(await getNewest(b.port)).toMatchObject({ cache: 'HIT' });
    const created = await post(
      b.port,
      { query: 'mutation ($input: CreatePostInput!) { createPost(input: $input) { post { id } errors { code } } }', variables: { input: { body: 'written on b' } } },
      writer,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const after = await getNewest(a.port);
    expect(after.cache).toBe('MISS');
    expect(after.bodies[0]).toBe('written on b');
  });
});

describe.runIf(url && redisUrl)('WORKERS=2', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.close());

  it('serves one port from two processes, counts both in /metrics, replaces one that dies, and stops both on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const main = await startMain(
      { DATABASE_URL: testDb.url!, REDIS_URL: redisUrl!, REDIS_KEY_PREFIX: `tally:test:${randomUUID()}:`, WORKERS: '2', PORT: String(port) },
      { listening: 2 },
    );
    try {
      // A new connection each time: the primary hands connections to the workers in turn.
      for (let sent = 0; sent < 20; sent += 1) {
        const response = await postGraphQL(`http://127.0.0.1:${port}`, { query: '{ posts(first: 1) { edges { cursor } } }' }, { connection: 'close' });
        expect(response.status).toBe(200);
      }
      const served = new Set([...main.output().matchAll(/"worker":(\d+),[^\n]*"msg":"graphql request"/g)].map((match) => match[1]));
      expect(served).toEqual(new Set(['1', '2']));
      // Whichever worker answers the scrape, it counts every worker's requests.
      for (let scrape = 0; scrape < 2; scrape += 1) {
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } })).text();
        expect(metrics).toContain('tally_graphql_requests_total{operation="anonymous",status="200"} 20');
      }
      // A worker that dies is replaced, and the port keeps answering meanwhile.
      const [, pid] = /"worker":1,"pid":(\d+)/.exec(main.output())!;
      process.kill(Number(pid), 'SIGKILL');
      await waitFor(() => (main.output().match(/"msg":"listening"/g) ?? []).length === 3, { timeoutMs: 20_000 });
      expect(main.output()).toMatch(/"signal":"SIGKILL"[^\n]*"msg":"a worker died; starting another"/);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: 'close' } })).status).toBe(200);

      main.child.kill('SIGTERM');
      expect(await main.exited, main.output()).toEqual({ code: 0, signal: null });
      expect(main.output().match(/"drained":true,"msg":"stopped"/g)).toHaveLength(2);
    } finally {
      main.kill();
    }
  }, 60_000);
});
