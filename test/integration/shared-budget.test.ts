/**
 * Two Tally instances sharing one Redis, wired as src/main.ts wires a process (sharedCostBucket: leases over
 * the Redis bucket with an in-process twin behind it), over one database: a budget spent on one instance is spent on the other;
 * while Redis is down each instance keeps answering and limits on its own; once Redis is back they share
 * again. A private redis-server is killed and started again on the same port.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, signToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config.js';
import { createEventBus } from '../../src/events.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTally, type TallyServer } from '../../src/server.js';
import { sharedCostBucket } from '../../src/store/shared-cost-bucket.js';
import { openRedis } from '../../src/store/redis.js';
import { createPosts, createUser } from '../helpers/factories.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { redisServer, type RedisServer } from '../helpers/redis-server.js';
import { sleep } from '../helpers/wait.js';

// 30 points refilled 1 a second: two 11-point pages leave 8, and the third is refused for 3 s.
const config = loadConfig({ NODE_ENV: 'test', COST_BUDGET_VIEWER: '30', COST_RESTORE_VIEWER: '1' });
/** 1 + 5 × (edge 1 + post 1), and as much actual: the database holds 5 posts. */
const PAGE_OF_5 = '{ posts(first: 5) { edges { node { id } } } }';
const PEEK = '{ rateLimit { remaining } }';
// The private Redis is this file's alone; a prefix of the run's own all the same, as in production's shared one.
const prefix = `tally:shared-test:${randomBytes(6).toString('hex')}:`;

interface Instance {
  readonly name: string;
  readonly yoga: TallyServer;
  readonly redis: Redis;
  /** What the fallback told this instance's hooks, in order. */
  readonly events: string[];
}

interface Answer {
  status: number;
  remaining: number | undefined;
}

let redis: RedisServer | undefined;
let database: TestDatabase | undefined;
const instances: Instance[] = [];
/** Every status either instance answered, to hold them all to "200 or an intended 429". */
const statuses: number[] = [];

// Each phase uses a viewer of its own: a new viewer starts full in Redis and in each instance's memory.
let lastViewer = 0;
const freshToken = () => signToken(config.jwt, (lastViewer += 1));

async function ask(instance: Instance, token: string, query = PAGE_OF_5): Promise<Answer> {
  const response = await instance.yoga.fetch(
    new Request('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    }),
  );
  statuses.push(response.status);
  const body = (await response.json()) as { extensions?: { cost?: { throttleStatus?: { currentlyAvailable: number } } } };
  return { status: response.status, remaining: body.extensions?.cost?.throttleStatus?.currentlyAvailable };
}

function instance(name: string, url: string, db: TestDatabase): Instance {
  const client = openRedis(url);
  const events: string[] = [];
  const logger = createLogger(config);
  const { yoga } = createTally({
    config,
    database: db.database,
    logger,
    verifyToken: createTokenVerifier(config.jwt),
    events: createEventBus(logger),
    // The same prefix on both: one bucket per client across instances, as every process of a deployment has.
    costBucket: sharedCostBucket(client, { onUnavailable: () => events.push('unavailable'), onRecovered: () => events.push('recovered') }, { prefix }),
  });
  return { name, yoga, redis: client, events };
}

let a: Instance;
let b: Instance;

beforeAll(async () => {
  redis = await redisServer();
  await redis.start();
  database = await createTestDatabase();
  const author = await createUser(database.database.db);
  await createPosts(database.database.db, Array.from({ length: 5 }, () => ({ authorId: author.id })));
  a = instance('A', redis.url, database);
  b = instance('B', redis.url, database);
  instances.push(a, b);
  await Promise.all(instances.map((each) => each.redis.connect()));
});

// Runs however the tests went: no redis-server child or open connection outlives the file.
afterAll(async () => {
  for (const each of instances) each.redis.disconnect();
  await redis?.stop();
  await database?.close();
});

describe('two instances sharing one Redis', () => {
  it('share a budget: spent on A, refused on B', async () => {
    const token = await freshToken();
    expect(await ask(a, token)).toEqual({ status: 200, remaining: 19 });
    expect(await ask(a, token)).toEqual({ status: 200, remaining: 8 });
    expect(await ask(b, token)).toEqual({ status: 429, remaining: 8 });
    expect(await ask(b, token, PEEK)).toEqual({ status: 200, remaining: 8 });
    expect(a.events).toEqual([]);
    expect(b.events).toEqual([]);
  });

  it('keep answering while Redis is down, each limiting on its own, and say so once each', async () => {
    await redis!.stop();
    const token = await freshToken();

    // A's spending is A's alone now: B still starts this viewer full, and each refuses once its own is spent.
    expect(await ask(a, token)).toEqual({ status: 200, remaining: 19 });
    expect(await ask(a, token)).toEqual({ status: 200, remaining: 8 });
    expect(await ask(a, token)).toEqual({ status: 429, remaining: 8 });
    expect(await ask(b, token)).toEqual({ status: 200, remaining: 19 });
    expect(await ask(b, token)).toEqual({ status: 200, remaining: 8 });
    expect(await ask(b, token)).toEqual({ status: 429, remaining: 8 });

    // A burst at once on each: answered, and each instance's memory never over-spends (30 holds two pages).
    const burst = await freshToken();
    for (const each of [a, b]) {
      const answers = await Promise.all(Array.from({ length: 8 }, () => ask(each, burst)));
      expect(answers.filter((answer) => answer.status === 200), each.name).toHaveLength(2);
    }

    expect(statuses.every((status) => status === 200 || status === 429), `statuses: ${statuses.join(', ')}`).toBe(true);
    expect(a.events).toEqual(['unavailable']);
    expect(b.events).toEqual(['unavailable']);
  });

  it('share again within a few seconds of Redis coming back, and say so once each', async () => {
    await redis!.start();
    // Each client reconnects within its retry delay (at most 2 s), then its breaker's next probe finds Redis.
    // A new viewer each time: a client seen within the last half second is answered from its lease, not Redis.
    const deadline = Date.now() + 8_000;
    while (!instances.every((each) => each.events.includes('recovered')) && Date.now() < deadline) {
      const probe = await freshToken();
      await Promise.all(instances.map((each) => ask(each, probe, PEEK)));
      await sleep(100);
    }
    expect(a.events).toEqual(['unavailable', 'recovered']);
    expect(b.events).toEqual(['unavailable', 'recovered']);

    const token = await freshToken();
    expect(await ask(a, token)).toEqual({ status: 200, remaining: 19 });
    expect(await ask(a, token)).toEqual({ status: 200, remaining: 8 });
    expect(await ask(b, token)).toEqual({ status: 429, remaining: 8 });
    expect(await ask(b, token, PEEK)).toEqual({ status: 200, remaining: 8 });

    expect(statuses.every((status) => status === 200 || status === 429), `statuses: ${statuses.join(', ')}`).toBe(true);
    expect(a.events).toEqual(['unavailable', 'recovered']);
    expect(b.events).toEqual(['unavailable', 'recovered']);
  });
});
