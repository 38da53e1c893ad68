/**
 * The outbox relay (src/outbox/relay.ts) on a real database: committed events handed on in id order and stamped;
 * a failing consumer hands the batch on again, to every consumer, once it recovers (at least once); main.ts runs
 * it and relays its own commits at once, without a poll; two relays on one PostgreSQL hand each event on once and keep each user's order; relayed
 * events go after the retention, unrelayed ones never; and the caches' consumer is the backstop for a process that
 * committed a post and crashed before dropping the cached answers it changed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, rowsOf, type Database, type Db } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { pruneRelayed, recordEvent, type DomainEvent } from '../../src/db/queries/outbox.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { ApolloManifest } from '../../src/persisted/manifest.js';
import { startRelay, type Consumer, type OutboxRelay, type RelayedEvent } from '../../src/outbox/relay.js';
import { createUser } from '../helpers/factories.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { listenLikeMain } from '../helpers/http.js';
import { startMain } from '../helpers/main-process.js';
import { SIGN_UP } from '../helpers/mutations.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const logger = createLogger({ logLevel: 'silent' });
const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
const idOf = (name: string) => manifest.operations.find((operation) => operation.name === name)!.id;
/** Long enough that nothing in a test is relayed by the poll: what happens is the test's doing. */
const NO_POLL_MS = 600_000;
const DAY_MS = 86_400_000;

let test: TestDatabase;
let db: Db;
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  test = await createTestDatabase();
  db = test.database.db;
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
  await db.execute(sql`delete from outbox_events`);
});
afterAll(() => test.close());

/** Commits each event in a transaction of its own, as a write would; their ids. */
async function commit(events: readonly DomainEvent[], on: Db = db): Promise<number[]> {
  const ids: number[] = [];
  for (const event of events) ids.push(await on.transaction((tx) => recordEvent(tx, event)));
  return ids;
}

const posted = (authorId: number, postId: number): DomainEvent => ({ type: 'post.created', postId, authorId });

/** A consumer that keeps what it was handed, in order, and fails while `failing` says so. */
function recorder(name: string, log: RelayedEvent[][] = []) {
  const consumer = {
    name,
    failing: false,
    log,
    consume(events: readonly RelayedEvent[]) {
      if (consumer.failing) return Promise.reject(new Error(`${name} is down`));
      log.push([...events]);
      return Promise.resolve();
    },
  };
  return consumer;
}

function relay(consumers: readonly Consumer[], database: Database = test.database, extra: { metrics?: ReturnType<typeof createMetrics> } = {}): OutboxRelay {
  const started = startRelay({ database, consumers, logger, pollMs: NO_POLL_MS, ...extra });
  relays.push(started);
  return started;
}

async function unrelayedIds(): Promise<number[]> {
  return rowsOf<{ id: string | number }>(await db.execute(sql`select id from outbox_events where relayed_at is null order by id`)).map((row) => Number(row.id));
}

describe('the outbox relay', () => {
  it('hands committed events on in id order, once, stamps them, and counts them with their lag', async () => {
    const ids = await commit(Array.from({ length: 250 }, (_, index) => posted(1 + (index % 7), index + 1)));
    const consumer = recorder('recorder');
    const metrics = createMetrics(undefined);
    const started = relay([consumer], test.database, { metrics });
    await started.drain();

    const handed = consumer.log.flat();
    expect(handed.map((event) => event.id)).toEqual(ids);
    expect(handed[0]!.event).toEqual(posted(1, 1));
    expect(handed[0]).toMatchObject({ aggregateType: 'user', aggregateId: 1 });
    expect(Math.max(...consumer.log.map((batch) => batch.length)), 'batches of at most 100').toBeLessThanOrEqual(100);
    expect(await unrelayedIds()).toEqual([]);
    expect(await started.drain(), 'nothing twice').toBe(0);

    const text = await metrics.render();
    expect(text).toMatch(/^tally_outbox_relayed_events_total 250$/m);
    expect(text).toMatch(/^tally_outbox_relay_lag_seconds_count 250$/m);
    expect(text).toMatch(/^tally_outbox_oldest_unrelayed_seconds 0$/m);
  });

  it('reports the backlog: the oldest unrelayed event\'s age', async () => {
    await db.execute(sql`insert into outbox_events (type, aggregate_type, aggregate_id, payload, created_at) values ('post.created', 'user', 1, '{}', now() - interval '90 seconds')`);
    const metrics = createMetrics(undefined);
    const consumer = recorder('recorder');
    consumer.failing = true;
    relay([consumer], test.database, { metrics });
    const seconds = Number(/^tally_outbox_oldest_unrelayed_seconds (\S+)$/m.exec(await metrics.render())?.[1]);
    expect(seconds).toBeGreaterThanOrEqual(90);
    expect(seconds).toBeLessThan(120);
  });

  it('hands a batch on again, to every consumer, after one failed, and stamps nothing until all took it', async () => {
    const ids = await commit([posted(1, 1), posted(2, 2), posted(1, 3)]);
    const cache = recorder('cache');
    const jobs = recorder('jobs');
    jobs.failing = true;
    const metrics = createMetrics(undefined);
    const started = relay([cache, jobs], test.database, { metrics });
    await started.drain();
    expect(await unrelayedIds(), 'nothing stamped while a consumer fails').toEqual(ids);
    expect(await metrics.render()).toMatch(/^tally_outbox_relay_failures_total [1-9]\d*$/m);

    jobs.failing = false;
    await started.drain();
    expect(await unrelayedIds()).toEqual([]);
    expect(jobs.log.flat().map((event) => event.id), 'the failed consumer, once it is back').toEqual(ids);
    const cacheIds = cache.log.flat().map((event) => event.id);
    expect(cacheIds.slice(-3), 'the other consumer again: at least once').toEqual(ids);
    expect(cacheIds.length).toBeGreaterThanOrEqual(6);
  });

  it('runs in main.ts and relays its own process\'s commit at once, not at the next poll', { timeout: 60_000 }, async () => {
    const main = await startMain({ OUTBOX_POLL_MS: String(NO_POLL_MS), PGLITE_DIR: 'memory://' });
    try {
      const base = `http://127.0.0.1:${main.port}`;
      const relayed = async () => Number(/^tally_outbox_relayed_events_total (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? 0);
      const before = await relayed();
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: SIGN_UP, variables: { input: { username: 'relay_main', name: 'Relay', email: 'relay_main@example.test' } } }),
      });
      expect(response.status).toBe(200);
      await waitFor(async () => (await relayed()) === before + 1, { timeoutMs: 5_000, intervalMs: 50 });
    } finally {
      main.kill();
    }
  });

  it('hands on, when main.ts starts, the events a process committed and died before relaying', { timeout: 90_000 }, async () => {
    // The crashed process's database: migrated, with three committed events nobody relayed.
    const dir = mkdtempSync(join(tmpdir(), 'tally-outbox-'));
    try {
      const dataDir = join(dir, 'pglite');
      const crashed = await openDatabase({ kind: 'pglite', dataDir });
      await migrateDatabase(crashed);
      await commit([posted(1, 1), posted(2, 2), posted(1, 3)], crashed.db);
      await crashed.close();

      const main = await startMain({ OUTBOX_POLL_MS: String(NO_POLL_MS), PGLITE_DIR: dataDir });
      try {
        const relayed = async () => Number(/^tally_outbox_relayed_events_total (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${main.port}/metrics`)).text())?.[1] ?? 0);
        await waitFor(async () => (await relayed()) === 3, { timeoutMs: 5_000, intervalMs: 50 });
      } finally {
        main.kill();
        await main.exited;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deletes relayed events past the retention, and never an unrelayed one', async () => {
    const [old, recent, waiting] = await commit([posted(1, 1), posted(1, 2), posted(1, 3)]);
    await db.execute(sql`update outbox_events set relayed_at = now() - interval '2 days' where id = ${old}`);
    await db.execute(sql`update outbox_events set relayed_at = now() - interval '1 hour' where id = ${recent}`);
    await db.execute(sql`update outbox_events set created_at = now() - interval '30 days' where id = ${waiting}`);
    expect(await pruneRelayed(db, DAY_MS)).toBe(1);
    const left = rowsOf<{ id: string | number }>(await db.execute(sql`select id from outbox_events order by id`)).map((row) => Number(row.id));
    expect(left).toEqual([recent, waiting]);
  });

  describe.skipIf(!process.env['DATABASE_URL'])('two relays on one PostgreSQL', () => {
    it('hand each event on once, and each user\'s events in the order written', async () => {
      const second = await openDatabase({ kind: 'postgres', url: test.url!, poolMax: 4, statementTimeoutMs: 10_000, connectTimeoutMs: 5_000 });
      try {
        const delivered: RelayedEvent[][] = [];
        const [a, b] = [recorder('a', delivered), recorder('b', delivered)];
        const events = Array.from({ length: 600 }, (_, index) => posted(1 + (index % 12), index + 1));
        // Written from both handles at once while both relays run, as two instances would.
        const [one, two] = [relay([a]), relay([b], second)];
        const writes = Promise.all([commit(events.slice(0, 300)), commit(events.slice(300), second.db)]);
        for (let round = 0; round < 20; round += 1) await Promise.all([one.drain(), two.drain()]);
        const ids = (await writes).flat();
        await waitFor(
          async () => {
            await Promise.all([one.drain(), two.drain()]);
            return (await unrelayedIds()).length === 0;
          },
          { timeoutMs: 20_000, intervalMs: 50 },
        );

        const handed = delivered.flat();
        expect(handed.map((event) => event.id).sort((x, y) => x - y), 'every event once').toEqual([...ids].sort((x, y) => x - y));
        expect(a.log.length > 0 && b.log.length > 0, 'both relays took batches').toBe(true);
        for (let user = 1; user <= 12; user += 1) {
          const own = handed.filter((event) => event.aggregateId === user).map((event) => event.id);
          expect(own, `user ${user}'s events in order`).toEqual([...own].sort((x, y) => x - y));
        }
      } finally {
        await second.close();
      }
    });
  });
});

describe("the caches' consumer", () => {
  it('drops the cached answers a committed post changed when the process that wrote it crashed before dropping them', async () => {
    const server = await startTestServer({ PERSISTED_OPERATIONS: 'trusted' });
    const http = await listenLikeMain(server);
    try {
      const author = await createUser(server.database.db, { username: 'relay_author' });
      const newest = `${http.base}/graphql?${new URLSearchParams({ documentId: idOf('NewestPosts'), variables: JSON.stringify({ first: 1 }) }).toString()}`;
      const read = async () => {
        const response = await fetch(newest);
        const body = (await response.json()) as { data: { posts: { edges: { node: { body: string } }[] } } };
        return { cache: response.headers.get('x-cache'), body: body.data.posts.edges[0]?.node.body };
      };
      await read();
      expect((await read()).cache, 'the answer is kept').toBe('HIT');

      // What the crashed process committed: the post and its event; nothing dropped the cached answer.
      await server.database.db.transaction(async (tx) => {
        const [row] = rowsOf<{ id: string | number }>(await tx.execute(sql`insert into posts (author_id, body) values (${author.id}, 'written before the crash') returning id`));
        await recordEvent(tx, posted(author.id, Number(row!.id)));
      });
      expect(await read(), 'the stale answer, from the cache').toMatchObject({ cache: 'HIT' });
      expect((await read()).body).not.toBe('written before the crash');

      const started = startRelay({
        database: server.database,
        consumers: [{ name: 'caches', consume: async (events) => void (await Promise.all(events.map(({ event }) => server.dropChanged(event)))) }],
        logger,
        pollMs: NO_POLL_MS,
      });
      await started.drain();
      await started.close();
      expect(await read()).toEqual({ cache: 'MISS', body: 'written before the crash' });
    } finally {
      await http.close();
      await server.close();
    }
  });
});
