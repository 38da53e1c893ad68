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
