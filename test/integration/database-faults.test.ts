/**
 * The database failing under a request, on PostgreSQL (and PgBouncer, as CI runs it), answered as what it is: a
 * retryable fault with a stable code (TIMEOUT, SERVICE_UNAVAILABLE), HTTP 503 with Retry-After when the request
 * produced no data, never INTERNAL_SERVER_ERROR, never a hang; logged at warn with the request id and never with
 * the query's parameters; and the pool serving again on its own once the database is back. The app's pool
 * reaches PostgreSQL through a TCP proxy this file controls (helpers/tcp-proxy.ts), so it can refuse, cut and
 * stall connections without touching the PostgreSQL other test files share; statements are held up for real, by
 * a lock another connection takes.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { checkLedger } from '../../src/ledger/check-ledger.js';
import { transactions } from '../../src/db/schema.js';
import { codesOf, globalId } from '../helpers/assertions.js';
import { createPosts, createUser } from '../helpers/factories.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';

const url = process.env['DATABASE_URL'];

interface Line {
  level: number;
  msg: string;
  requestId?: string;
  code?: string;
  status?: number;
  errors?: string[];
  err?: { message: string; code?: string; cause?: unknown };
}

const lines: string[] = [];
const logger = createLogger({ logLevel: 'info' }, { write: (line: string) => void lines.push(line) });
const entries = () => lines.map((line) => JSON.parse(line) as Line);
const linesOf = (requestId: string) => entries().filter((line) => line.requestId === requestId);

/** Every code in a logged error's cause chain, and every message. */
function chainOf(err: unknown): { codes: unknown[]; messages: unknown[] } {
  const codes: unknown[] = [];
  const messages: unknown[] = [];
  for (let at = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined; at; at = at.cause as typeof at) {
    codes.push(at.code);
    messages.push(at.message);
  }
  return { codes, messages };
}

/**
 * Until a statement on the test database waits on a lock (PostgreSQL's own view of it, pg_stat_activity), asked on a
 * connection of its own: the moment a request is blocked, instead of a guessed sleep.
 */
async function untilWaitingOnLock(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await waitFor(
      async () => {
        const { rows } = await client.query<{ waiting: number }>(
          "select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        );
        return rows[0]!.waiting > 0;
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    );
  } finally {
    await client.end();
  }
}

/** Holds `lock` (an SQL statement run in an open transaction) on the test database until `release` is called. */
async function hold(databaseUrl: string, lock: string): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query('begin');
  await client.query(lock);
  return {
    async release() {
      await client.query('rollback');
      await client.end();
    },
  };
}

/**
 * Sends a request while `lock` is held, so that its statement waits on the lock, and cuts the proxy once it does:
 * the connection is lost mid-statement. PostgreSQL is reachable again and the lock released before it returns.
 */
async function cutWhileHeld<T>(proxy: TcpProxy, databaseUrl: string, lock: string, send: () => Promise<T>): Promise<T> {
  const held = await hold(databaseUrl, lock);
  try {
    const pending = send();
    await untilWaitingOnLock(databaseUrl);
    await proxy.down();
    return await pending;
  } finally {
    await proxy.up();
    await held.release();
  }
}

const POSTS = '{ posts(first: 5) { edges { node { id body } } } }';
const USER_BY_NAME = 'query ($u: String) { user(username: $u) { id } }';
const DEPOSIT = /* GraphQL */ `
  mutation ($input: DepositInput!) {
    deposit(input: $input) { entry { id amount { amount } } errors { code } }
  }
`;

async function started(
  proxy: TcpProxy,
  pool: { statementTimeoutMs: number; connectTimeoutMs: number; poolMax: number },
): Promise<TestServer> {
  return startTestServer({}, logger, { database: { ...pool, route: (url) => proxy.via(url) } });
}

const expectFault = (response: GraphQLResponse, code: 'TIMEOUT' | 'SERVICE_UNAVAILABLE', requestId: string) => {
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('1');
  // No data: none at all, or every root field null for the fault.
  expect(Object.values(response.body.data ?? {}).every((value) => value === null)).toBe(true);
  expect(codesOf(response.body)).toEqual([code]);
  expect(response.body.errors![0]!.extensions).toEqual({ code, retryable: true, requestId });
  // The client reads what to do, not what broke.
  expect(response.body.errors![0]!.message).not.toMatch(/pg|pool|select|connect|ECONN|terminated|statement/i);
};

describe.runIf(url)('database faults (PostgreSQL)', () => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    const target = new URL(url!);
    proxy = await tcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  });
  afterAll(() => proxy?.close());

  describe('a statement held up past its timeout', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await started(proxy, { statementTimeoutMs: 300, connectTimeoutMs: 2_000, poolMax: 4 });
      const author = await createUser(server.database.db);
      await createPosts(server.database.db, [{ authorId: author.id, body: 'held up' }]);
    });
    afterAll(() => server?.close());

    it('is a TIMEOUT: 503 with Retry-After, logged at warn with the request id and no parameter', async () => {
      const secret = `private-name-${randomUUID()}`;
      const lock = await hold(server.url!, 'lock table users in access exclusive mode');
      let response: GraphQLResponse;
      const began = performance.now();
      try {
        lines.length = 0;
        response = await server.graphql(USER_BY_NAME, { variables: { u: secret }, headers: { 'x-request-id': 'timeout-1' } });
      } finally {
        await lock.release();
      }
      // The statement timeout (300 ms), or through PgBouncer the driver's own (1.3 s): never the lock's length.
      expect(performance.now() - began).toBeLessThan(5_000);
      expectFault(response, 'TIMEOUT', 'timeout-1');

      const own = linesOf('timeout-1');
      const warned = own.filter((line) => line.msg === 'database timed out');
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatchObject({ level: 40, code: 'TIMEOUT' });
      const { codes, messages } = chainOf(warned[0]!.err);
      // PostgreSQL's own cancel (57014), or the driver's read timeout where PgBouncer cannot apply ours.
      expect(codes.includes('57014') || messages.includes('Query read timeout')).toBe(true);
      expect(own.find((line) => line.msg === 'graphql request')).toMatchObject({ status: 503, errors: ['TIMEOUT'] });
      expect(own.filter((line) => line.msg === 'unexpected error')).toEqual([]);
      expect(lines.filter((line) => line.includes(secret) || line.includes('params'))).toEqual([]);
    });

    it('keeps the status of a request that produced data: the failed field says what to retry', async () => {
      // users is held up, posts is not: `user` (nullable) fails alone, the page of posts is answered.
      const lock = await hold(server.url!, 'lock table users in access exclusive mode');
      let response: GraphQLResponse<{ user: unknown; posts: { edges: unknown[] } }>;
      try {
        response = await server.graphql(`{ user(username: "anyone") { id } posts(first: 1) { edges { cursor } } }`, { headers: { 'x-request-id': 'partial-1' } });
      } finally {
        await lock.release();
      }
      expect(response.status).toBe(200);
      expect(response.headers.get('retry-after')).toBeNull();
      expect(response.body.data?.user).toBeNull();
      expect(response.body.data?.posts.edges).toHaveLength(1);
      expect(response.body.errors).toMatchObject([{ path: ['user'], extensions: { code: 'TIMEOUT', retryable: true, requestId: 'partial-1' } }]);
    });

    it('answers again as soon as the lock is gone', async () => {
      const response = await server.graphql(POSTS);
      expect(response.status).toBe(200);
      expect(response.body.errors).toBeUndefined();
    });
  });

  describe('no pooled connection free in time', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await started(proxy, { statementTimeoutMs: 5_000, connectTimeoutMs: 300, poolMax: 1 });
    });
    afterAll(() => server?.close());

    it('is SERVICE_UNAVAILABLE for the request that waited; the one holding the connection finishes', async () => {
      const lock = await hold(server.url!, 'lock table posts in access exclusive mode');
      let holding: Promise<GraphQLResponse>;
      let waiting: GraphQLResponse;
      try {
        holding = server.graphql(POSTS);
        // The first request has the only connection, and waits on the lock.
        await untilWaitingOnLock(server.url!);
        waiting = await server.graphql(`{ user(username: "anyone") { id } }`, { headers: { 'x-request-id': 'pool-wait-1' } });
      } finally {
        await lock.release();
      }
      expectFault(waiting, 'SERVICE_UNAVAILABLE', 'pool-wait-1');
      expect(chainOf(linesOf('pool-wait-1').find((line) => line.msg === 'database unavailable')?.err).messages).toContain('timeout exceeded when trying to connect');
      const first = await holding;
      expect(first.status).toBe(200);
      expect(first.body.errors).toBeUndefined();
    });
  });

  describe('PostgreSQL unreachable, connections lost, the network stalled', () => {
    let server: TestServer;
    let viewer: number;
    beforeAll(async () => {
      server = await started(proxy, { statementTimeoutMs: 1_000, connectTimeoutMs: 1_000, poolMax: 4 });
      viewer = (await createUser(server.database.db)).id;
    });
    afterAll(async () => {
      await proxy.up();
      proxy.resume();
      await server?.close();
    });

    it('refused: SERVICE_UNAVAILABLE at once, /readyz 503; both back within 5 s of PostgreSQL', async () => {
      await proxy.down();
      try {
        const began = performance.now();
        const response = await server.graphql(POSTS, { headers: { 'x-request-id': 'refused-1' } });
        expect(performance.now() - began).toBeLessThan(2_000);
        expectFault(response, 'SERVICE_UNAVAILABLE', 'refused-1');
        // That request may have met a pooled connection the cut had already closed; the next one opens its own.
        const again = await server.graphql(POSTS, { headers: { 'x-request-id': 'refused-2' } });
        expectFault(again, 'SERVICE_UNAVAILABLE', 'refused-2');
        expect(chainOf(linesOf('refused-2').find((line) => line.msg === 'database unavailable')?.err).codes).toContain('ECONNREFUSED');
        expect((await server.fetch('/readyz')).status).toBe(503);
      } finally {
        await proxy.up();
      }
      await waitFor(async () => (await server.graphql(POSTS)).status === 200, { timeoutMs: 5_000 });
      expect((await server.fetch('/readyz')).status).toBe(200);
    });

    it('cut mid-statement: SERVICE_UNAVAILABLE, and the next request opens a new connection', async () => {
      const response = await cutWhileHeld(proxy, server.url!, 'lock table posts in access exclusive mode', () =>
        server.graphql(POSTS, { headers: { 'x-request-id': 'cut-1' } }),
      );
      expectFault(response, 'SERVICE_UNAVAILABLE', 'cut-1');
      expect(chainOf(linesOf('cut-1').find((line) => line.msg === 'database unavailable')?.err).messages).toContain('Connection terminated unexpectedly');
      expect((await server.graphql(POSTS)).status).toBe(200);
    });

    it('stalled: the driver gives up (TIMEOUT) instead of hanging, and serves again once bytes flow', async () => {
      // A connection opened before the stall, idle in the pool: the request's statement is sent and never answered.
      expect((await server.graphql(POSTS)).status).toBe(200);
      proxy.stall();
      let response: GraphQLResponse;
      const began = performance.now();
      try {
        response = await server.graphql(POSTS, { headers: { 'x-request-id': 'stalled-1' } });
      } finally {
        proxy.resume();
      }
      expect(performance.now() - began).toBeLessThan(5_000);
      expect(response.status).toBe(503);
      // The statement's read timeout, or the pool's connect timeout if it had to open a connection meanwhile.
      expect(['TIMEOUT', 'SERVICE_UNAVAILABLE']).toContain(codesOf(response.body)[0]);
      expect((await server.graphql(POSTS)).status).toBe(200);
    });

    it('a deposit cut by the fault left nothing; its retry with the same key moves the money once', async () => {
      const key = `cut-deposit-${randomUUID()}`;
      const input = { amount: '7.00', currency: 'USD', description: 'cut by a fault', idempotencyKey: key };
      // The deposit waits on its account's row, then its connection is cut before it can commit.
      const cut = await cutWhileHeld(proxy, server.url!, `select * from accounts where user_id = ${viewer} for update`, () =>
        server.graphql(DEPOSIT, { as: viewer, variables: { input }, headers: { 'x-request-id': 'deposit-cut-1' } }),
      );
      expectFault(cut, 'SERVICE_UNAVAILABLE', 'deposit-cut-1');
      const entries = () => server.database.db.select().from(transactions).where(sql`${transactions.idempotencyKey} = ${key}`);
      expect(await entries()).toEqual([]);

      const retried = await server.graphql<{ deposit: { entry: { id: string }; errors: unknown[] } }>(DEPOSIT, { as: viewer, variables: { input } });
      expect(retried.status).toBe(200);
      expect(retried.body.data?.deposit.errors).toEqual([]);
      const again = await server.graphql<{ deposit: { entry: { id: string } } }>(DEPOSIT, { as: viewer, variables: { input } });
      expect(again.body.data?.deposit.entry.id).toBe(retried.body.data?.deposit.entry.id);
      const written = await entries();
      expect(written).toHaveLength(1);
      expect(globalId('Transaction', written[0]!.id)).toBe(retried.body.data?.deposit.entry.id);
      expect(await checkLedger(server.database.db)).toEqual([]);
    });
  });

  describe('a connection lost as a transaction begins', () => {
    let server: TestServer;
    let viewer: number;
    beforeAll(async () => {
      // One connection: a transaction that kept it would leave every later request without one.
      server = await started(proxy, { statementTimeoutMs: 2_000, connectTimeoutMs: 1_000, poolMax: 1 });
      viewer = (await createUser(server.database.db)).id;
    });
    afterAll(() => server?.close());

    it('fails that mutation cleanly and gives the pool its connection back (drizzle 0.45 kept it)', async () => {
      const input = (key: string) => ({ amount: '1.00', currency: 'USD', description: 'begin lost', idempotencyKey: key });
      for (let round = 0; round < 3; round += 1) {
        // The pooled connection dies as BEGIN goes out on it.
        expect((await server.graphql(POSTS)).status).toBe(200);
        proxy.cutWhenSent('begin');
        const key = `begin-lost-${randomUUID()}`;
        const cut = await server.graphql(DEPOSIT, { as: viewer, variables: { input: input(key) }, headers: { 'x-request-id': `begin-${round}` } });
        expectFault(cut, 'SERVICE_UNAVAILABLE', `begin-${round}`);
        // The pool has its one connection to give again: the retry with the key moves the money.
        const retried = await server.graphql<{ deposit: { errors: unknown[] } }>(DEPOSIT, { as: viewer, variables: { input: input(key) } });
        expect(retried.status, JSON.stringify(retried.body)).toBe(200);
        expect(retried.body.data?.deposit.errors).toEqual([]);
      }
      expect(await checkLedger(server.database.db)).toEqual([]);
    });
  });
});
