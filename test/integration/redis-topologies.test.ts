/**
 * Redis Sentinel and Redis Cluster under the real stores, over private redis-server processes (a primary, its
 * replica and a Sentinel; three cluster masters), through the node:http stack.
 *
 * Sentinel: the stores use the primary the Sentinel names; when it dies the Sentinel promotes the replica, the
 * requests meanwhile are all served (no 5xx), and the stores are shared again on the new primary without a
 * restart. Cluster: each store's keys are named so that every script finds its keys in one hash slot (a
 * budget per key, spread over the masters; the response cache's entries and tags under one hash tag), two
 * servers share budgets, registrations and invalidations, prefix deletion reaches every master, and a master
 * killed and started again is used again once the cluster is whole.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { sha256Hex, type ApolloManifest } from '../../src/persisted/manifest.js';
import { keysByPrefix, openRedis, unlinkByPrefix } from '../../src/store/redis.js';
import { createPosts, createUser } from '../helpers/factories.js';
import { bearer, listenLikeMain, postGraphQL, type HttpServer } from '../helpers/http.js';
import { direct, onServer, redisCluster, roleOf, sentinelSetup, type ClusterSetup, type SentinelSetup } from '../helpers/redis-topologies.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sleep, waitFor } from '../helpers/wait.js';

const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
const newestPosts = manifest.operations.find((operation) => operation.name === 'NewestPosts')!.id;
/** 1 + 5 × (edge 1 + post 1): 11 points of a 30-point budget. */
const PAGE_OF_5 = '{ posts(first: 5) { edges { node { id } } } }';

const quietLogger = () => createLogger({ logLevel: 'info' }, { write: () => {} });

async function getNewest(http: HttpServer) {
  const query = new URLSearchParams({ documentId: newestPosts, variables: JSON.stringify({ first: 5 }) });
  const response = await fetch(`${http.base}/graphql?${query.toString()}`);
  const body = (await response.json()) as { data?: { posts: { edges: { node: { body: string } }[] } }; errors?: unknown[] };
  return { status: response.status, cache: response.headers.get('x-cache'), body };
}

/** Registers a new automatic persisted query; resolves to its hash. */
async function register(http: HttpServer): Promise<string> {
  const query = `{ posts(first: 1) { edges { cursor } } } # ${randomUUID()}`;
  const sha256Hash = sha256Hex(query);
  const answer = await postGraphQL(http.base, { query, extensions: { persistedQuery: { version: 1, sha256Hash } } });
  expect(answer.status).toBe(200);
  return sha256Hash;
}

async function keysOn(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const keys of keysByPrefix(redis, prefix)) found.push(...keys);
  return found;
}

/** Whether a use of Redis is served by its fallback now (the gauge is there once the use has had an outage). */
async function storeDown(http: HttpServer, use: string): Promise<boolean> {
  const text = await (await fetch(`${http.base}/metrics`)).text();
  return new RegExp(`^tally_store_available\\{use="${use}"\\} 0$`, 'm').test(text);
}

/**
 * Once per suite run: the topologies are the test's own and do not depend on the database, so they run where the
 * suite runs on Redis (REDIS_URL), not again on the embedded default.
 */
const onRedisRun = Boolean(process.env['REDIS_URL']);

describe.runIf(onRedisRun)('Redis Sentinel', () => {
  let setup: SentinelSetup;
  let server: TestServer;
  let http: HttpServer;
  const prefix = `tally:test:${randomUUID()}:`;

  beforeAll(async () => {
    setup = await sentinelSetup();
    server = await startTestServer(
      { REDIS_SENTINELS: `127.0.0.1:${setup.sentinel.port}`, REDIS_SENTINEL_NAME: setup.name, PERSISTED_OPERATIONS: 'open' },
      quietLogger(),
      { redisPrefix: prefix },
    );
    http = await listenLikeMain(server);
    await createPosts(server.database.db, [{ authorId: (await createUser(server.database.db)).id, body: 'kept through a failover' }]);
  }, 60_000);
  afterAll(async () => {
    await http?.close();
    await server?.close();
    await setup?.stop();
  });

  /**
   * Makes the Sentinel fail over with `cause`, sending requests all along; resolves once a registration lands on
   * the server it promoted, with what the failover took.
   */
  async function failOver(cause: (primary: RedisServer) => Promise<void>) {
    const before = await setup.primary();
    const first = await register(http);
    expect(await onServer(before, (redis) => redis.exists(`${prefix}apq:${first}`))).toBe(1);

    const began = Date.now();
    await cause(before);
    const statuses: number[] = [];
    let promotedAt = 0;
    let promoted: RedisServer | undefined;
    await waitFor(
      async () => {
        const [read, written] = await Promise.all([getNewest(http), register(http)]);
        statuses.push(read.status);
        expect(read.body.data?.posts.edges[0]?.node.body).toBe('kept through a failover');
        const now = await setup.primary();
        if (now === before) return false;
        promotedAt ||= Date.now();
        promoted = now;
        // Shared again: a registration lands on the new primary.
        return (await onServer(now, (redis) => redis.exists(`${prefix}apq:${written}`))) === 1;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    return { before, promoted: promoted!, promotedAfterMs: promotedAt - began, followedAfterMs: Date.now() - promotedAt };
  }

  it('follows a failover the Sentinel makes while the old primary still answers, demoted to a replica', async () => {
    const { before, followedAfterMs } = await failOver(() => setup.failover());
    // The old primary took no more writes: it is a replica now, and the client left it for the new primary.
    await waitFor(async () => (await roleOf(before)) === 'slave');
    // Seen here: 1.4 s after the promotion, told by the Sentinel. Without being told, the client would stay on the
    // demoted server until the Sentinel's reconfiguration killed its connection: 11 s here.
    expect(followedAfterMs).toBeLessThan(5_000);
  }, 60_000);

  it('follows a failover after the primary is killed, serving every request meanwhile', async () => {
    await setup.replicated();
    const { promoted, promotedAfterMs, followedAfterMs } = await failOver((primary) => primary.stop());
    expect(await roleOf(promoted)).toBe('master');
    // Seen here: promoted about 2 s after the kill (1 s to call it down, then the election), followed at once.
    expect(promotedAfterMs).toBeLessThan(20_000);
    expect(followedAfterMs).toBeLessThan(10_000);
    expect(await storeDown(http, 'documents')).toBe(false);
  }, 60_000);
});

describe.runIf(onRedisRun)('Redis Cluster', () => {
  let cluster: ClusterSetup;
  let a: TestServer;
  let b: TestServer;
  let httpA: HttpServer;
  let httpB: HttpServer;
  let viewers: number[];
  let env: Record<string, string>;
  /** One client per master, to look at what each holds. */
  let looks: Redis[];
  const prefix = `tally:test:${randomUUID()}:`;
  const keysOnEach = (start: string) => Promise.all(looks.map((look) => keysOn(look, start)));

  beforeAll(async () => {
    cluster = await redisCluster();
    looks = cluster.masters.map(direct);
    // Two instances of one deployment: the same cluster and key prefix.
    env = { REDIS_CLUSTER_NODES: cluster.nodes, PERSISTED_OPERATIONS: 'open', COST_BUDGET_VIEWER: '30', COST_RESTORE_VIEWER: '1' };
    // One after the other: a PGlite starting holds the event loop longer than the cluster client's slot refresh waits.
    a = await startTestServer(env, quietLogger(), { redisPrefix: prefix });
    b = await startTestServer(env, quietLogger(), { redisPrefix: prefix });
    [httpA, httpB] = await Promise.all([listenLikeMain(a), listenLikeMain(b)]);
    viewers = [];
    for (let index = 0; index < 12; index += 1) viewers.push((await createUser(a.database.db)).id);
    // Five posts: a page of 5 costs all of its 11 points, none refunded.
    await createPosts(a.database.db, Array.from({ length: 5 }, (_, index) => ({ authorId: viewers[0]!, body: `on a ${index}` })));
    await createPosts(b.database.db, [{ authorId: (await createUser(b.database.db)).id, body: 'on b' }]);
  }, 90_000);
  afterAll(async () => {
    await httpA?.close();
    await httpB?.close();
    await a?.close();
    await b?.close();
    for (const look of looks ?? []) look.disconnect();
    await cluster?.stop();
  });

  it('shares every viewer\'s budget between instances, each bucket one key wherever its slot is', async () => {
    for (const viewer of viewers) {
      const token = bearer(await a.tokenFor(viewer));
      for (let spent = 0; spent < 2; spent += 1) expect((await postGraphQL(httpA.base, { query: PAGE_OF_5 }, token)).status).toBe(200);
      // 8 points left of 30, wherever the viewer asks: b alone would have all 30.
      const refused = await postGraphQL(httpB.base, { query: PAGE_OF_5 }, token);
      expect(refused.status).toBe(429);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    }
    const buckets = await keysOnEach(`${prefix}cost:`);
    // Twelve viewers' buckets over three masters: all on one would mean the keys were pinned to one slot.
    expect(buckets.flat().length).toBe(viewers.length);
    expect(buckets.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
  });

  it('shares registrations, cached answers and their invalidation, the cache\'s keys in one slot', async () => {
    const hash = await register(httpA);
    const byHash = await postGraphQL(httpB.base, { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(byHash.body.errors).toBeUndefined();

    expect((await getNewest(httpA)).cache).toBe('MISS');
    expect((await getNewest(httpB)).cache).toBe('HIT');
    // A writer whose budget the test above left alone.
    const created = await postGraphQL(
      httpA.base,
      { query: 'mutation { createPost(input: { body: "written on a" }) { errors { code } } }' },
      bearer(await a.tokenFor((await createUser(a.database.db)).id)),
    );
    expect(created.body.data).toEqual({ createPost: { errors: [] } });
    // The drop ran as one script over the entry's tags: b's next answer is executed again.
    expect((await getNewest(httpB)).cache).toBe('MISS');

    const cached = await keysOnEach(`${prefix}{cache}:`);
    expect(cached.filter((keys) => keys.length > 0).length).toBe(1);
  });

  it('deletes a prefix on every master', async () => {
    const client = openRedis({ kind: 'cluster', nodes: [{ host: '127.0.0.1', port: cluster.masters[0]!.port }], password: undefined });
    await client.connect();
    const scratch = `tally:test:${randomUUID()}:`;
    try {
      await Promise.all(Array.from({ length: 60 }, (_, index) => client.set(`${scratch}${index}`, 'x')));
      const before = (await keysOnEach(scratch)).map((keys) => keys.length);
      expect(before.filter((count) => count > 0).length).toBe(3);
      expect(await unlinkByPrefix(client, scratch)).toBe(60);
      const after = (await keysOnEach(scratch)).map((keys) => keys.length);
      expect(after).toEqual([0, 0, 0]);
    } finally {
      client.disconnect();
    }
  });

  it('serves every request while a master is down, and uses the cluster again once it is whole', async () => {
    const [killed] = cluster.masters;
    await killed!.stop();
    const statuses: number[] = [];
    for (let sent = 0; sent < 10; sent += 1) {
      statuses.push((await getNewest(httpA)).status, (await postGraphQL(httpB.base, { query: '{ posts(first: 1) { edges { cursor } } }' })).status);
      await sleep(200);
    }
    // An instance that starts now, the cluster down: it waits for Redis a moment (ioredis' own connect would
    // wait for the cluster forever), then serves with its stores degraded.
    const booting = Date.now();
    const late = await startTestServer(env, quietLogger(), { redisPrefix: prefix });
    const httpLate = await listenLikeMain(late);
    try {
      expect(Date.now() - booting).toBeLessThan(15_000);
      statuses.push((await getNewest(httpLate)).status);

      await killed!.start();
      const startedAt = Date.now();
      await cluster.healthy();
      // Shared again: what a and the late instance register, b runs by hash, and none still serves its fallback
      // for cached answers.
      await waitFor(
        async () => {
          statuses.push((await getNewest(httpA)).status);
          const hashes = [await register(httpA), await register(httpLate)];
          const byHash = await Promise.all(hashes.map((sha256Hash) => postGraphQL(httpB.base, { extensions: { persistedQuery: { version: 1, sha256Hash } } })));
          // Until the documents are shared again a hash is unknown to b: the clean 404 that makes a client register.
          for (const answer of byHash) {
            if (answer.status !== 200) expect({ status: answer.status, code: answer.body.errors?.[0]?.extensions?.code }).toEqual({ status: 404, code: 'PERSISTED_QUERY_NOT_FOUND' });
          }
          return byHash.every((answer) => answer.status === 200) && !(await storeDown(httpA, 'responses')) && !(await storeDown(httpB, 'documents'));
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      // Seen here: about 2 s after the master started (the cluster marks it up again, then the client's retry).
      expect(Date.now() - startedAt).toBeLessThan(20_000);
    } finally {
      await httpLate.close();
      await late.close();
    }
    expect(statuses.every((status) => status === 200)).toBe(true);
  }, 60_000);
});
