/**
 * Redis down, then slow, under the caches and the persisted operations, through the real node:http stack over a
 * private redis-server: reads keep coming from PostgreSQL (no 5xx), trusted documents still run, APQ
 * registrations are dropped, each use says so once and counts it, and Redis is used again when it answers. A
 * write whose drop could not reach Redis empties the response cache when Redis is back, so nothing kept
 * before it is served after it.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { sha256Hex, type ApolloManifest } from '../../src/persisted/manifest.js';
import { globalId } from '../helpers/assertions.js';
import { createPosts, createUser } from '../helpers/factories.js';
import { listenLikeMain, postGraphQL, type HttpServer } from '../helpers/http.js';
import { connectedRedis, redisServer, type RedisServer } from '../helpers/redis-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
const newestPosts = manifest.operations.find((operation) => operation.name === 'NewestPosts')!.id;

let redis: RedisServer;
let server: TestServer;
let http: HttpServer;
let author: number;
const lines: { level: number; msg: string; use?: string }[] = [];

beforeAll(async () => {
  redis = await redisServer();
  await redis.start();
  const logger = createLogger({ logLevel: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  server = await startTestServer({ PERSISTED_OPERATIONS: 'open' }, logger, { redisUrl: redis.url });
  http = await listenLikeMain(server);
  author = (await createUser(server.database.db)).id;
  await createPosts(server.database.db, [{ authorId: author, body: 'before the outage' }]);
});
afterAll(async () => {
  await http?.close();
  await server?.close();
  await redis?.stop();
});

const getNewest = async (variables: Record<string, unknown>) => {
  const response = await fetch(`${http.base}/graphql?${new URLSearchParams({ documentId: newestPosts, variables: JSON.stringify(variables) }).toString()}`);
  const body = (await response.json()) as { data?: { posts: { edges: { node: { body: string } }[] } }; errors?: unknown[] };
  return { status: response.status, cache: response.headers.get('x-cache'), body };
};
const readiness = async () => {
  const response = await fetch(`${http.base}/readyz`);
  return { status: response.status, body: (await response.json()) as unknown };
};
const outages = async (use: string) => {
  const text = await (await fetch(`${http.base}/metrics`)).text();
  return Number(new RegExp(`^tally_store_outages_total\\{use="${use}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
};

describe('Redis stopped', () => {
  const variables = { first: 1, run: randomUUID() };

  it('keeps serving: cached reads from PostgreSQL, trusted documents, APQ without registration, users; no 5xx', async () => {
    expect((await getNewest(variables)).cache).toBe('MISS');
    expect((await getNewest(variables)).cache).toBe('HIT');
    await redis.stop();

    for (let i = 0; i < 5; i += 1) {
      const read = await getNewest(variables);
      expect(read.status).toBe(200);
      expect(read.body.data!.posts.edges[0]!.node.body).toBe('before the outage');
      expect(read.cache).toBe('MISS');
    }
    const trusted = await postGraphQL(http.base, { documentId: newestPosts, variables: { first: 1 } });
    expect(trusted.status).toBe(200);

    const query = `{ posts(first: 1) { edges { node { id } } } } # ${randomUUID()}`;
    const persistedQuery = { version: 1, sha256Hash: sha256Hex(query) };
    const registered = await postGraphQL(http.base, { query, extensions: { persistedQuery } });
    expect(registered.status).toBe(200);
    expect(registered.body.errors).toBeUndefined();
    const byHash = await postGraphQL(http.base, { extensions: { persistedQuery } });
    expect(byHash.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');

    const user = await postGraphQL(http.base, { query: 'query ($id: ID!) { user(id: $id) { id } }', variables: { id: globalId('User', author) } });
    expect(user.body.data).toEqual({ user: { id: globalId('User', author) } });

    const created = await postGraphQL(http.base, { query: 'mutation { createPost(input: { body: "during the outage" }) { errors { code } } }' }, { authorization: `Bearer ${await server.tokenFor(author)}` });
    expect(created.body.data).toEqual({ createPost: { errors: [] } });

    // Still ready: an instance that serves without Redis stays in the load balancer, saying it is degraded.
    expect(await readiness()).toEqual({ status: 200, body: { status: 'degraded', checks: { database: 'ok', redis: 'unavailable' } } });
  });

  it('said so once per use, and counted it', async () => {
    const unavailable = lines.filter((line) => line.msg.startsWith('redis is unavailable'));
    for (const use of ['responses', 'documents', 'users']) {
      expect(unavailable.filter((line) => line.use === use)).toHaveLength(1);
      expect(await outages(use)).toBe(1);
    }
  });

  it('uses Redis again once it is back, and serves nothing kept before the write it missed', async () => {
    await redis.start();
    // The breaker tries Redis again a second after its last failure; ioredis reconnects within two.
    await waitFor(async () => (await getNewest(variables)).cache === 'HIT');
    const fresh = await getNewest(variables);
    expect(fresh.body.data!.posts.edges[0]!.node.body).toBe('during the outage');
    expect(lines.filter((line) => line.msg === 'redis is back' && line.use === 'responses')).toHaveLength(1);
    expect(await readiness()).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'ok', redis: 'ok' } } });
  });
});

describe('Redis slow (every command paused past the command timeout)', () => {
  it('bypasses the cache meanwhile, and empties it after a write whose drop was lost', async () => {
    const variables = { first: 1, run: randomUUID() };
    expect((await getNewest(variables)).cache).toBe('MISS');
    expect((await getNewest(variables)).cache).toBe('HIT');

    const admin = await connectedRedis(redis.url);
    try {
      // Nothing is lost in a pause: the entry kept above is still in Redis when it ends.
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      const started = Date.now();
      const created = await postGraphQL(http.base, { query: 'mutation { createPost(input: { body: "while redis was slow" }) { errors { code } } }' }, { authorization: `Bearer ${await server.tokenFor(author)}` });
      expect(created.body.data).toEqual({ createPost: { errors: [] } });
      // The write waited at most a command timeout or two for Redis, not the whole pause.
      expect(Date.now() - started).toBeLessThan(1_400);
      const during = await getNewest(variables);
      expect(during.status).toBe(200);
      expect(during.body.data!.posts.edges[0]!.node.body).toBe('while redis was slow');
    } finally {
      admin.disconnect();
    }
    await waitFor(async () => (await getNewest(variables)).cache === 'HIT');
    expect((await getNewest(variables)).body.data!.posts.edges[0]!.node.body).toBe('while redis was slow');
  });
});
