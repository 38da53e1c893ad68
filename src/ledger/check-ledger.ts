/**
 * Verifies every invariant of the ledger over the whole database, in SQL: it reads, never writes. An empty list
 * means the ledger is sound. Used by `npm run ledger:check`, by the tests after every money test, and after the
 * seed-challenge load test.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { rowsOf } from '../db/client.js';

export interface LedgerViolation {
  readonly rule: string;
  /** A few of the offending rows, enough to start looking. */
  readonly examples: readonly Record<string, unknown>[];
  readonly count: number;
}

const RULES: readonly { rule: string; query: SQL }[] = [
  {
    rule: 'an account balance equals the sum of its entries',
    query: sql`
      select a.user_id, a.balance, coalesce(sum(t.amount), 0) as entries
      from accounts a left join transactions t on t.user_id = a.user_id
      group by a.user_id, a.balance
      having a.balance <> coalesce(sum(t.amount), 0)`,
  },
  {
    rule: 'no balance is below zero',
    query: sql`select user_id, balance from accounts where balance < 0`,
  },
  {
    rule: 'every entry is in its account\'s currency',
    query: sql`select t.id, t.user_id, t.currency, a.currency as account_currency
               from transactions t join accounts a on a.user_id = t.user_id where t.currency <> a.currency`,
  },
  {
    rule: 'each entry\'s balance_after is the running sum of the user\'s entries in the order they were written',
    query: sql`
      select id, user_id, balance_after, running from (
        select id, user_id, balance_after, sum(amount) over (partition by user_id order by id) as running
        from transactions
      ) entries where balance_after <> running`,
  },
  {
    rule: 'a transfer is exactly two entries, out and in, of opposite amounts between the same two users',
    query: sql`
      select transfer_id, count(*) as entries, sum(amount) as net,
             count(*) filter (where kind = 'TRANSFER_OUT') as outs,
             count(*) filter (where kind = 'TRANSFER_IN') as ins
      from transactions where transfer_id is not null
      group by transfer_id
      having count(*) <> 2 or sum(amount) <> 0
          or count(*) filter (where kind = 'TRANSFER_OUT') <> 1
          or count(*) filter (where kind = 'TRANSFER_IN') <> 1
          or min(user_id) <> min(counterparty_id) or max(user_id) <> max(counterparty_id)
          or count(distinct currency) <> 1`,
  },
  {
    // Only keys still kept: once one expires, its user may use the same string again, as Stripe allows.
    rule: 'a kept idempotency key moved money at most once',
    query: sql`
      select t.user_id, t.idempotency_key, count(*) as entries
      from transactions t
      join idempotency_keys k on k.user_id = t.user_id and k.key = t.idempotency_key and t.created_at >= k.created_at
      group by t.user_id, t.idempotency_key
      having count(*) > 1`,
  },
];

export async function checkLedger(db: Db): Promise<LedgerViolation[]> {
  const violations: LedgerViolation[] = [];
  for (const { rule, query } of RULES) {
    const [counted] = rowsOf<{ count: string | number }>(await db.execute(sql`select count(*) as count from (${query}) violations`));
    const count = Number(counted?.count ?? 0);
    if (count === 0) continue;
    const examples = rowsOf<Record<string, unknown>>(await db.execute(sql`select * from (${query}) violations limit 5`));
    violations.push({ rule, count, examples });
  }
  return violations;
}
