/**
 * The infrastructure failing under traffic, on the real services (PostgreSQL, PgBouncer when DATABASE_URL is one,
 * a private redis-server), through the node:http stack main.ts serves, with clients reading and moving money the
 * whole time (helpers/traffic.ts). For each fault: no 5xx but clean retryable 503s with Retry-After while
 * PostgreSQL is away, every request answered 200 again within 5 s of the service returning, no log line holding a
 * query's parameters, and the ledger sound afterwards with every money mutation the server acknowledged present
 * exactly once (the clients retry a 503 with the same idempotency key).
 *
 * - PostgreSQL restarted: a TCP proxy in front of it (helpers/tcp-proxy.ts) cuts every connection and refuses new
 *   ones for 2 s, as a restart or failover does, without stopping the PostgreSQL other test files use.
 * - PgBouncer paused (`PAUSE <database>` on its admin console, this file's database only) for 2 s, then resumed:
 *   queries wait and go on; nothing fails.
 * - Redis killed (SIGKILL) and started again 2 s later: nothing fails; each use of Redis says so once.
 * - SIGTERM to src/main.ts: requests in flight finish, the process exits 0, and nothing acknowledged is lost.
 */
import { and, eq } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db/client.js';
import { transactions } from '../../src/db/schema.js';
import { checkLedger } from '../../src/ledger/check-ledger.js';
import { createLogger } from '../../src/observability/logger.js';
import { globalId } from '../helpers/assertions.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createPosts, createUsers } from '../helpers/factories.js';
import { listenLikeMain, type HttpServer } from '../helpers/http.js';
import { startMain } from '../helpers/main-process.js';
import { redisServer, type RedisServer } from '../helpers/redis-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startTraffic, type Traffic } from '../helpers/traffic.js';
import { sleep, waitFor } from '../helpers/wait.js';

const url = process.env['DATABASE_URL'];
const CLIENTS = 16;
const OUTAGE_MS = 2_000;
const RECOVERY_MS = 5_000;

/** PgBouncer's admin console at DATABASE_URL's host and port, or undefined when DATABASE_URL is PostgreSQL itself. */
async function adminConsole(databaseUrl: string): Promise<pg.Client | undefined> {
  const admin = new URL(databaseUrl);
  admin.pathname = '/pgbouncer';
  const client = new pg.Client({ connectionString: admin.toString() });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('show version');
    return client;
  } catch {
    await client.end().catch(() => {});
    return undefined;
  }
}
const bouncer = url ? await adminConsole(url) : undefined;
await bouncer?.end();

/** Users with tokens for the traffic, and a few posts for its reads. */
async function population(db: Db, sign: (userId: number) => Promise<string>) {
  const users = await createUsers(db, CLIENTS);
  await createPosts(db, users.slice(0, 5).map((user) => ({ authorId: user.id, body: `by ${user.username}` })));
  return Promise.all(users.map(async (user) => ({ id: user.id, token: await sign(user.id) })));
}

/** What every fault test asserts once the traffic stopped; `restoredAt` is when the service came back (traffic ms). */
async function expectSurvived(traffic: Traffic, db: Db, lines: readonly string[], restoredAt: number) {
  const { answers } = traffic;
  expect(answers.length).toBeGreaterThan(CLIENTS * 4);
  // No 5xx but the clean, retryable 503s with Retry-After; no 4xx either (the budgets are unlimited here).
  const unclean = answers.filter((answer) => answer.status !== 200 && !(answer.status === 503 && answer.retryable && answer.retryAfter === '1'));
  expect(unclean).toEqual([]);
  expect(answers.filter((answer) => answer.codes.includes('INTERNAL_SERVER_ERROR'))).toEqual([]);
  // Recovered within 5 s of the service returning: every request sent after that is answered 200.
  const late = answers.filter((answer) => answer.sentAt > restoredAt + RECOVERY_MS);
  expect(late.length).toBeGreaterThan(CLIENTS);
  expect(late.filter((answer) => answer.status !== 200)).toEqual([]);
  // No log line holds a parameter: the marker is in every mutation's description.
  expect(lines.filter((line) => line.includes(traffic.marker) || line.includes('params:'))).toEqual([]);
  expect(traffic.acknowledged.size).toBeGreaterThan(CLIENTS);
  await expectAcknowledged(traffic, db);
}

/** Every acknowledged money mutation is in the ledger exactly once, and the ledger is sound. */
async function expectAcknowledged(traffic: Traffic, db: Db) {
  for (const [key, { userId, entryId }] of traffic.acknowledged) {
    const rows = await db
      .select({ id: transactions.id })
      .from(transactions)
      .where(and(eq(transactions.userId, userId), eq(transactions.idempotencyKey, key)));
    expect(rows.map((row) => globalId('Transaction', row.id)), key).toEqual([entryId]);
  }
  expect(await checkLedger(db)).toEqual([]);
}

describe.runIf(url)('faults under load (PostgreSQL)', () => {
  const lines: string[] = [];
  let proxy: TcpProxy;
  let redis: RedisServer;
  let server: TestServer;
  let http: HttpServer;
  let users: { id: number; token: string }[];

  beforeAll(async () => {
    const target = new URL(url!);
    proxy = await tcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    redis = await redisServer();
    await redis.start();
    const logger = createLogger({ logLevel: 'info' }, { write: (line: string) => void lines.push(line) });
    server = await startTestServer({}, logger, { redisUrl: redis.url, database: { route: (direct) => proxy.via(direct), poolMax: 10 } });
    http = await listenLikeMain(server);
    users = await population(server.database.db, (id) => server.tokenFor(id));
  });
  afterAll(async () => {
    await http?.close();
    await server?.close();
    await redis?.stop();
    await proxy?.close();
  });

  /**
   * Traffic until every client has been answered a few times, `fault` (resolving when the service is back), then
   * traffic until recovery is due.
   */
  async function underTraffic(fault: () => Promise<void>): Promise<{ traffic: Traffic; restoredAt: number }> {
    lines.length = 0;
    const traffic = startTraffic(http.base, users);
    await waitFor(() => traffic.answers.length >= CLIENTS * 4, { timeoutMs: 10_000, intervalMs: 20 });
    await fault();
    const restoredAt = traffic.now();
    await sleep(RECOVERY_MS + 1_000);
    await traffic.stop();
    expect(traffic.connectionErrors).toEqual([]);
    // No request holds a pooled connection any more: none was lost to the fault (drizzle 0.45 lost one to every
    // BEGIN that failed, src/db/client.ts).
    const pool = server.database.pool!;
    expect(pool.totalCount - pool.idleCount).toBe(0);
    return { traffic, restoredAt };
  }

  it('PostgreSQL restarted: clean 503s while it is away, 200s within 5 s of its return, nothing lost', async () => {
    const { traffic, restoredAt } = await underTraffic(async () => {
      await proxy.down();
      await sleep(OUTAGE_MS);
      await proxy.up();
    });
    // The outage was seen, as 503s with a code, and only as those.
    const refused = traffic.answers.filter((answer) => answer.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(new Set(refused.flatMap((answer) => answer.codes))).toEqual(new Set(['SERVICE_UNAVAILABLE']));
    await expectSurvived(traffic, server.database.db, lines, restoredAt);
  }, 60_000);

  it.runIf(bouncer)('PgBouncer paused and resumed: requests wait and go on, none fails', async () => {
    const admin = (await adminConsole(url!))!;
    const database = new URL(server.url!).pathname.slice(1);
    try {
      const { traffic, restoredAt } = await underTraffic(async () => {
        await admin.query(`pause ${pg.escapeIdentifier(database)}`);
        await sleep(OUTAGE_MS);
        await admin.query(`resume ${pg.escapeIdentifier(database)}`);
      });
      expect(traffic.answers.filter((answer) => answer.status !== 200)).toEqual([]);
      // Some requests did wait out the pause.
      expect(Math.max(...traffic.answers.map((answer) => answer.at - answer.sentAt))).toBeGreaterThan(OUTAGE_MS / 2);
      await expectSurvived(traffic, server.database.db, lines, restoredAt);
    } finally {
      await admin.query(`resume ${pg.escapeIdentifier(database)}`).catch(() => {});
      await admin.end();
    }
  }, 60_000);

  it('Redis killed and restarted: nothing fails, each use says so once, and Redis is used again', async () => {
    const { traffic, restoredAt } = await underTraffic(async () => {
      await redis.stop();
      await sleep(OUTAGE_MS);
      await redis.start();
    });
    expect(traffic.answers.filter((answer) => answer.status !== 200)).toEqual([]);
    const said = lines.map((line) => JSON.parse(line) as { msg: string; use?: string });
    const down = said.filter((line) => line.msg.startsWith('redis is unavailable'));
    expect(down.length).toBeGreaterThan(0);
    // Once per use and outage.
    expect(new Set(down.map((line) => line.use)).size).toBe(down.length);
    expect(said.filter((line) => line.msg === 'redis is back').map((line) => line.use).sort()).toEqual(down.map((line) => line.use).sort());
    const metrics = await (await fetch(`${http.base}/metrics`)).text();
    expect(metrics).toMatch(/tally_store_outages_total\{use="cost"\} [1-9]/);
    await expectSurvived(traffic, server.database.db, lines, restoredAt);
  }, 60_000);
});

describe.runIf(url)('SIGTERM under load (src/main.ts on PostgreSQL)', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.close());

  it('finishes what is in flight, exits 0, and loses no acknowledged money mutation', async () => {
    const jwt = loadConfig({ NODE_ENV: 'test' }).jwt;
    const users = await population(testDb.database.db, (id) => signToken(jwt, id));
    const main = await startMain({ DATABASE_URL: testDb.url! });
    try {
      const traffic = startTraffic(`http://127.0.0.1:${main.port}`, users);
      // Signalled once every client is in its stride: more than two answers each.
      await waitFor(() => traffic.answers.length > CLIENTS * 3, { timeoutMs: 15_000, intervalMs: 20 });
      const signalledAt = traffic.now();
      main.child.kill('SIGTERM');
      const exit = await main.exited;
      await traffic.stop();

      expect(exit, main.output()).toEqual({ code: 0, signal: null });
      expect(main.output()).toMatch(/"drained":true,"msg":"stopped"/);
      // Every request the server took was answered, and answered well; what came after the signal found the
      // listener closed (or a kept-alive connection closing) and was sent again, to nobody.
      expect(traffic.answers.filter((answer) => answer.status !== 200)).toEqual([]);
      expect(traffic.answers.length).toBeGreaterThan(CLIENTS * 2);
      expect(traffic.connectionErrors.filter((error) => error.at < signalledAt)).toEqual([]);
      expect(main.output().includes(traffic.marker) || main.output().includes('params:')).toBe(false);
      await expectAcknowledged(traffic, testDb.database.db);
    } finally {
      main.kill();
    }
  }, 60_000);
});
