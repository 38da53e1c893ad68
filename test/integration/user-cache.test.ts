/**
 * Cache-aside for users by id, through the real server over POST (which the response cache never answers, so
 * every request here runs): a user read once comes from the cache after, concurrent misses of one user send one
 * statement, the copy never decides what the viewer may see, and the time kept has its jitter.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { globalId } from '../helpers/assertions.js';
import { createUser } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openRedis } from '../../src/store/redis.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());
beforeEach(() => server.statements.reset());

const USER_BY_ID = 'query ($id: ID!) { user(id: $id) { id username name email } }';

describe('users by id', () => {
  it('are read from PostgreSQL once, then from the cache, in later requests too', async () => {
    const user = await createUser(server.database.db);
    server.statements.reset();
    const first = await server.graphql<{ user: { username: string } }>(USER_BY_ID, { variables: { id: globalId('User', user.id) } });
    expect(first.body.data!.user.username).toBe(user.username);
    expect(server.statements.count).toBe(1);
    server.statements.reset();
    const second = await server.graphql<{ user: { username: string } }>(USER_BY_ID, { variables: { id: globalId('User', user.id) } });
    expect(second.body.data).toEqual(first.body.data);
    expect(server.statements.count).toBe(0);
  });

  it('send one statement for two hundred concurrent misses of one user', async () => {
    const user = await createUser(server.database.db);
    server.statements.reset();
    const answers = await Promise.all(Array.from({ length: 200 }, () => server.graphql<{ user: { name: string } }>(USER_BY_ID, { variables: { id: globalId('User', user.id) } })));
    expect(answers.every((answer) => answer.body.data?.user.name === user.name)).toBe(true);
    expect(server.statements.count).toBe(1);
  });

  it('never decide a private field: a cached row shows its email to its owner only', async () => {
    const [owner, other] = [await createUser(server.database.db), await createUser(server.database.db)];
    const variables = { id: globalId('User', owner.id) };
    const asOwner = await server.graphql<{ user: { email: string | null } }>(USER_BY_ID, { variables, as: owner.id });
    expect(asOwner.body.data!.user.email).toBe(owner.email);
    server.statements.reset();
    const asOther = await server.graphql<{ user: { email: string | null } }>(USER_BY_ID, { variables, as: other.id });
    expect(server.statements.count).toBe(0); // the row came from the cache
    expect(asOther.body.data!.user.email).toBeNull();
    expect(asOther.body.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('answer a user who does not exist as null, and do not remember the absence', async () => {
    server.statements.reset();
    const missing = await server.graphql<{ user: null }>(USER_BY_ID, { variables: { id: globalId('User', 987_654_321) } });
    expect(missing.body.data!.user).toBeNull();
    expect(server.statements.count).toBe(1);
    server.statements.reset();
    await server.graphql(USER_BY_ID, { variables: { id: globalId('User', 987_654_321) } });
    expect(server.statements.count).toBe(1);
  });
});

describe.runIf(process.env['REDIS_URL'])('in Redis', () => {
  it('are kept for the TTL with ±10% jitter', async () => {
    const redis = openRedis(process.env['REDIS_URL']!);
    await redis.connect();
    try {
      const users = await Promise.all(Array.from({ length: 20 }, () => createUser(server.database.db)));
      await server.graphql(`query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { variables: { ids: users.map((user) => globalId('User', user.id)) } });
      const keys = await redis.keys('tally:test:*:users:user:*');
      const mine = keys.filter((key) => users.some((user) => key.endsWith(`:user:${user.id}`)));
      expect(mine).toHaveLength(20);
      const ttls = await Promise.all(mine.map((key) => redis.pttl(key)));
      const ttlMs = server.config.cache.userTtlSeconds * 1000;
      expect(ttls.every((ttl) => ttl > ttlMs * 0.89 && ttl <= ttlMs * 1.1)).toBe(true);
      expect(new Set(ttls.map((ttl) => Math.round(ttl / 100))).size).toBeGreaterThan(1);
    } finally {
      redis.disconnect();
    }
  });
});
