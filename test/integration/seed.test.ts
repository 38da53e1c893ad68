/**
 * The deterministic seed on a small database: ledger invariants hold even when a user sends more transfers than
 * there are other users (the receiver must never be the sender), and the schema refuses a self-transfer.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/client.js';
import { transactions } from '../../src/db/schema.js';
import { seed } from '../../src/db/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let test: TestDatabase;

beforeAll(async () => {
  test = await createTestDatabase();
  // 3 users and 200 entries: 12 transfers out per user, four times as many as there are other users.
  await seed(test.database.db, { users: 3, followsPerUser: 1, posts: 10, ledgerEntries: 200 });
});
afterAll(() => test.close());

const query = async <T>(statement: ReturnType<typeof sql>) => rowsOf<T>(await test.database.db.execute(statement));

describe('seed with more transfers per user than other users', () => {
  it('writes transfers (the premise), none of them to the sender', async () => {
    const [row] = await query<{ transfers: number; selfTransfers: number }>(sql`
      select count(*)::int as "transfers", count(*) filter (where counterparty_id = user_id)::int as "selfTransfers"
      from transactions where counterparty_id is not null`);
    expect(row!.transfers).toBeGreaterThan(3 * 2 * 2);
    expect(row!.selfTransfers).toBe(0);
  });

  it('sends every user\'s transfers to both other users', async () => {
    const pairs = await query<{ user_id: number; receivers: number }>(sql`
      select user_id::int, count(distinct counterparty_id)::int as receivers
      from transactions where kind = 'TRANSFER_OUT' group by user_id order by user_id`);
    expect(pairs).toEqual([1, 2, 3].map((id) => ({ user_id: id, receivers: 2 })));
  });

  it('keeps each balance equal to the sum of its ledger, and balance_after a running sum', async () => {
    const mismatches = await query<{ user_id: number }>(sql`
      select a.user_id from accounts a left join transactions t on t.user_id = a.user_id
      group by a.user_id, a.balance having a.balance <> coalesce(sum(t.amount), 0)`);
    expect(mismatches).toEqual([]);
    const running = await query<{ id: number }>(sql`
      select id from (
        select id, balance_after, sum(amount) over (partition by user_id order by created_at, id) as running
        from transactions) as entries
      where balance_after <> running`);
    expect(running).toEqual([]);
  });

  it('moves no money in or out with transfers: both sides of each transfer sum to zero', async () => {
    const unbalanced = await query<{ transfer_id: number }>(sql`
      select transfer_id from transactions where transfer_id is not null
      group by transfer_id having sum(amount) <> 0 or count(*) <> 2 or count(distinct user_id) <> 2`);
    expect(unbalanced).toEqual([]);
  });
});

describe('the transactions table', () => {
  it('refuses an entry whose counterparty is its own user (transactions_no_self_counterparty)', async () => {
    const error = await test.database.db
      .insert(transactions)
      .values({ userId: 1, kind: 'TRANSFER_IN', amount: 1n, currency: 'USD', counterpartyId: 1, transferId: 999_999, balanceAfter: 1n })
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    const cause = (error as { cause?: { code?: string; constraint?: string; message?: string } } | undefined)?.cause;
    expect(cause?.code).toBe('23514');
    expect(`${cause?.constraint ?? ''} ${cause?.message ?? ''}`).toContain('transactions_no_self_counterparty');
  });
});
