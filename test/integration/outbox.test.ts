/**
 * The transactional outbox (src/db/queries/outbox.ts) through the real server: every write others react to
 * records its event in its own transaction, with the acting user as its aggregate and in the order written; a
 * write whose transaction fails after its event was inserted leaves neither the write nor the event; a refused
 * write records none. (helpers/mutations.ts `observe` also holds every mutation test's events to the outbox.)
 */
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Db } from '../../src/db/client.js';
import type { UserRow } from '../../src/db/schema.js';
import { checkLedger } from '../../src/ledger/check-ledger.js';
import { globalId } from '../helpers/assertions.js';
import { addEntry, createUser } from '../helpers/factories.js';
import { CREATE_POST, DEPOSIT, FOLLOW, NOTHING, observe, SIGN_UP, TRANSFER, UNFOLLOW, WITHDRAW } from '../helpers/mutations.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let db: Db;
let alice: UserRow;
let bob: UserRow;
let keys = 0;

beforeAll(async () => {
  server = await startTestServer();
  db = server.database.db;
  alice = await createUser(db, { username: 'outbox_alice' });
  await addEntry(db, alice.id, { kind: 'DEPOSIT', amount: 100_00n });
  bob = await createUser(db, { username: 'outbox_bob' });
});
afterAll(() => server.close());

interface OutboxRow {
  id: number;
  type: string;
  aggregate_type: string;
  aggregate_id: number;
  payload: Record<string, unknown>;
  created_at: unknown;
  relayed_at: unknown;
}

async function lastEventId(): Promise<number> {
  const [row] = rowsOf<{ id: string | number }>(await db.execute(sql`select coalesce(max(id), 0) as id from outbox_events`));
  return Number(row!.id);
}

async function eventsAfter(id: number): Promise<OutboxRow[]> {
  const rows = rowsOf<OutboxRow>(await db.execute(sql`select * from outbox_events where id > ${id} order by id`));
  return rows.map((row) => ({ ...row, id: Number(row.id), aggregate_id: Number(row.aggregate_id) }));
}

const money = (fields: Record<string, unknown> = {}) => ({ amount: '1.00', currency: 'USD', idempotencyKey: `outbox-${(keys += 1)}`, ...fields });

/** Each kind of write others react to: its document, its input, and who sends it. */
const WRITES = [
  ['signUp', SIGN_UP, () => ({ username: `outbox_new${(keys += 1)}`, name: 'New', email: `outbox_new${keys}@example.test` }), undefined],
  ['createPost', CREATE_POST, () => ({ body: 'told to the outbox' }), () => alice.id],
  ['followUser', FOLLOW, () => ({ userId: globalId('User', bob.id) }), () => alice.id],
  ['deposit', DEPOSIT, () => money(), () => alice.id],
  ['withdraw', WITHDRAW, () => money(), () => alice.id],
  ['transfer', TRANSFER, () => money({ to: globalId('User', bob.id) }), () => alice.id],
] as const;

describe('the outbox', () => {
  it('records each write with its type, its actor as the aggregate and its payload, in the order written', async () => {
    const since = await lastEventId();
    const send = (document: string, input: Record<string, unknown>, as?: number) =>
      server.graphql(document, { variables: { input }, ...(as === undefined ? {} : { as }) });
    const signedUp = await send(SIGN_UP, { username: 'outbox_carol', name: 'Carol', email: 'outbox_carol@example.test' });
    expect(signedUp.body.errors).toBeUndefined();
    const [carolRow] = rowsOf<{ id: string | number }>(await db.execute(sql`select id from users where username = 'outbox_carol'`));
    const carol = Number(carolRow!.id);
    for (const [document, input, as] of [
      [FOLLOW, { userId: globalId('User', bob.id) }, carol],
      [CREATE_POST, { body: 'first' }, carol],
      [DEPOSIT, money(), alice.id],
      [TRANSFER, money({ to: globalId('User', carol) }), alice.id],
      [UNFOLLOW, { userId: globalId('User', bob.id) }, carol],
    ] as const) {
      const response = await send(document, input, as);
      expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
    }

    const events = await eventsAfter(since);
    expect(events.map((event) => [event.type, event.aggregate_type, event.aggregate_id])).toEqual([
      ['user.signedUp', 'user', carol],
      ['follow.created', 'user', carol],
      ['post.created', 'user', carol],
      ['ledger.moved', 'user', alice.id],
      ['ledger.moved', 'user', alice.id],
      ['follow.removed', 'user', carol],
    ]);
    expect(events.map((event) => event.payload.type)).toEqual(events.map((event) => event.type));
    expect(events[1]!.payload).toEqual({ type: 'follow.created', followerId: carol, followeeId: bob.id });
    expect(events[4]!.payload).toMatchObject({ type: 'ledger.moved', userIds: [alice.id, carol] });
    for (const event of events) {
      expect(event.created_at, 'stamped by the database').toBeTruthy();
      expect(event.relayed_at, 'not relayed yet').toBeNull();
    }
    const ids = events.map((event) => event.id);
    expect(ids, 'ids increase in the order written').toEqual([...ids].sort((a, b) => a - b));
  });

  it('records nothing for a write that changes nothing or is refused', async () => {
    const since = await lastEventId();
    const key = `outbox-replayed-${(keys += 1)}`;
    await server.graphql(DEPOSIT, { variables: { input: money({ idempotencyKey: key }) }, as: alice.id });
    const recorded = (await eventsAfter(since)).length;
    // The same key again replays the first outcome; unfollowing someone not followed; more than the balance.
    await server.graphql(DEPOSIT, { variables: { input: money({ idempotencyKey: key }) }, as: alice.id });
    await server.graphql(UNFOLLOW, { variables: { input: { userId: globalId('User', bob.id) } }, as: alice.id });
    await server.graphql(WITHDRAW, { variables: { input: money({ amount: '1000000.00' }) }, as: bob.id });
    await server.graphql(SIGN_UP, { variables: { input: { username: 'outbox_alice', name: 'Taken', email: 'outbox_taken@example.test' } } });
    expect(await eventsAfter(since)).toHaveLength(recorded);
  });

  describe('a transaction that fails after its event was inserted', () => {
    afterEach(async () => {
      await db.execute(sql`drop trigger if exists outbox_test_refuse on outbox_events`);
      await db.execute(sql`drop function if exists outbox_test_refuse()`);
    });

    it.each(WRITES)('%s: neither the write nor its event is left', async (_name, document, input, as) => {
      if (_name === 'followUser') {
        await db.execute(sql`delete from follows where follower_id = ${alice.id} and followee_id = ${bob.id}`);
      }
      // A real failure inside the write's transaction, after the outbox row went in: the row's own trigger raises.
      await db.execute(sql.raw(`create function outbox_test_refuse() returns trigger language plpgsql as $$ begin raise exception 'refused after the outbox insert'; end; $$`));
      await db.execute(sql`create trigger outbox_test_refuse after insert on outbox_events for each row execute function outbox_test_refuse()`);
      const viewer = as?.();
      const { result, changes, events } = await observe(server, () =>
        server.graphql(document, { variables: { input: input() }, ...(viewer === undefined ? {} : { as: viewer }) }),
      );
      expect(result.status).toBe(200);
      expect(result.body.errors?.[0]?.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(result.body)).not.toContain('refused after the outbox insert');
      expect(changes).toEqual(NOTHING);
      expect(events, 'nothing told in process either').toEqual([]);
      expect(await checkLedger(db)).toEqual([]);
    });
  });
});
