/**
 * Test data written straight to the database with drizzle, each row exactly as a test needs it (explicit
 * timestamps make equal-timestamp and ordering cases deliberate, not accidental).
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/client.js';
import { accounts, follows, posts, transactions, users, type Currency, type UserRow, type PostRow, type TransactionRow } from '../../src/db/schema.js';

let sequence = 0;

export async function createUser(db: Db, fields: Partial<typeof users.$inferInsert> & { currency?: Currency; balance?: bigint } = {}): Promise<UserRow> {
  sequence += 1;
  const username = fields.username ?? `person${sequence}_${Math.random().toString(36).slice(2, 8)}`;
  const { currency = 'USD', balance = 0n, ...userFields } = fields;
  const [user] = await db
    .insert(users)
    .values({ name: `Person ${sequence}`, email: `${username}@example.test`, ...userFields, username })
    .returning();
  await db.insert(accounts).values({ userId: user!.id, currency, balance });
  return user!;
}

export async function createPost(db: Db, authorId: number, fields: Partial<typeof posts.$inferInsert> = {}): Promise<PostRow> {
  const [post] = await db.insert(posts).values({ body: 'A post', ...fields, authorId }).returning();
  return post!;
}

export async function follow(db: Db, followerId: number, followeeId: number, createdAt?: Date): Promise<void> {
  await db.insert(follows).values({ followerId, followeeId, ...(createdAt ? { createdAt } : {}) });
}

/** Appends a ledger entry and moves the account balance with it, keeping balance = sum(entries). */
export async function addEntry(
  db: Db,
  userId: number,
  fields: { kind: TransactionRow['kind']; amount: bigint; createdAt?: Date; description?: string; counterpartyId?: number; transferId?: number },
): Promise<TransactionRow> {
  const [account] = await db
    .update(accounts)
    .set({ balance: sql`${accounts.balance} + ${fields.amount}` })
    .where(sql`${accounts.userId} = ${userId}`)
    .returning();
  const [entry] = await db
    .insert(transactions)
    .values({
      userId,
      kind: fields.kind,
      amount: fields.amount,
      currency: account!.currency,
      description: fields.description ?? '',
      counterpartyId: fields.counterpartyId ?? null,
      transferId: fields.transferId ?? null,
      balanceAfter: account!.balance,
      ...(fields.createdAt ? { createdAt: fields.createdAt } : {}),
    })
    .returning();
  return entry!;
}

/** `count` users with their accounts, in two statements; `fields(i)` sets the columns of the i-th. */
export async function createUsers(
  db: Db,
  count: number,
  fields: (index: number) => Partial<typeof users.$inferInsert> = () => ({}),
): Promise<UserRow[]> {
  const values = Array.from({ length: count }, (_, index) => {
    sequence += 1;
    const username = `person${sequence}_${Math.random().toString(36).slice(2, 8)}`;
    return { name: `Person ${sequence}`, email: `${username}@example.test`, username, ...fields(index) };
  });
  const rows = await db.insert(users).values(values).returning();
  await db.insert(accounts).values(rows.map((user) => ({ userId: user.id, currency: 'USD' as const, balance: 0n })));
  // RETURNING lists rows as they were inserted, but say so rather than rely on it.
  return values.map((value) => rows.find((row) => row.username === value.username)!);
}

/** Posts in one statement, ids ascending in the order given (equal timestamps are then ordered by that). */
export async function createPosts(
  db: Db,
  rows: readonly (Partial<typeof posts.$inferInsert> & { authorId: number })[],
): Promise<PostRow[]> {
  const inserted = await db.insert(posts).values(rows.map((row) => ({ body: 'A post', ...row }))).returning();
  return inserted.sort((a, b) => a.id - b.id);
}

/** Follows in one statement. */
export async function followMany(
  db: Db,
  rows: readonly { followerId: number; followeeId: number; createdAt?: Date }[],
): Promise<void> {
  await db.insert(follows).values(rows.map((row) => ({ ...row })));
}
