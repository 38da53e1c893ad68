/**
 * The tables. Every keyset order a connection pages by has an index whose columns match it exactly
 * (equality prefix, then the sort key, then the id tiebreaker), so a page deep in a 1M-row table costs the same
 * as the first. The indexes are ascending: PostgreSQL scans them backwards for the `desc` orders we page by,
 * and a row comparison `(created_at, id) < ($1, $2)` becomes an index condition. Money is `bigint` minor units plus a currency; nothing here is ever a float.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  check,
  index,
  jsonb,
  pgEnum,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** Millisecond precision: a JavaScript Date holds exactly what PostgreSQL stores, so cursors round-trip. */
const createdAt = () =>
  timestamp('created_at', { withTimezone: true, precision: 3, mode: 'date' }).notNull().defaultNow();

export const currency = pgEnum('currency', ['USD', 'EUR', 'GBP', 'JPY']);
export const transactionKind = pgEnum('transaction_kind', ['DEPOSIT', 'WITHDRAWAL', 'TRANSFER_IN', 'TRANSFER_OUT']);

export const users = pgTable(
  'users',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    username: text('username').notNull(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    avatarUrl: text('avatar_url'),
    createdAt: createdAt(),
  },
  (t) => [
    // Usernames and emails are unique regardless of case: "Alice" and "alice" are one person.
    uniqueIndex('users_username_lower_key').on(sql`lower(${t.username})`),
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
  ],
);

export const follows = pgTable(
  'follows',
  {
    followerId: bigint('follower_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    followeeId: bigint('followee_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.followerId, t.followeeId] }),
    // User.following pages a follower's follows, newest first; User.followers pages a followee's.
    index('follows_follower_created_idx').on(t.followerId, t.createdAt, t.followeeId),
    index('follows_followee_created_idx').on(t.followeeId, t.createdAt, t.followerId),
    check('follows_not_self', sql`${t.followerId} <> ${t.followeeId}`),
  ],
);

export const posts = pgTable(
  'posts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    authorId: bigint('author_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    body: text('body').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('posts_created_idx').on(t.createdAt, t.id),
    // User.posts and the feed (a merge of a few authors' newest posts) page by author.
    index('posts_author_created_idx').on(t.authorId, t.createdAt, t.id),
  ],
);

/** One account per user, in one currency; its balance is a cache of the sum of the user's ledger entries. */
export const accounts = pgTable(
  'accounts',
  {
    userId: bigint('user_id', { mode: 'number' })
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    currency: currency('currency').notNull(),
    balance: bigint('balance', { mode: 'bigint' }).notNull().default(sql`0`),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [check('accounts_balance_non_negative', sql`${t.balance} >= 0`)],
);

/**
 * The ledger: immutable entries of one user. `amount` is signed (deposits and transfers in are positive),
 * so a balance is exactly `sum(amount)`; a transfer is two entries, one per side, sharing a `transfer_id`.
 */
export const transactions = pgTable(
  'transactions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: transactionKind('kind').notNull(),
    amount: bigint('amount', { mode: 'bigint' }).notNull(),
    currency: currency('currency').notNull(),
    description: text('description').notNull().default(''),
    counterpartyId: bigint('counterparty_id', { mode: 'number' }).references(() => users.id),
    transferId: bigint('transfer_id', { mode: 'number' }),
    balanceAfter: bigint('balance_after', { mode: 'bigint' }).notNull(),
    idempotencyKey: text('idempotency_key'),
    createdAt: createdAt(),
  },
  (t) => [
    index('transactions_user_created_idx').on(t.userId, t.createdAt, t.id),
    index('transactions_user_kind_created_idx').on(t.userId, t.kind, t.createdAt, t.id),
    check(
      'transactions_amount_sign',
      sql`(${t.kind} in ('DEPOSIT', 'TRANSFER_IN') and ${t.amount} > 0) or (${t.kind} in ('WITHDRAWAL', 'TRANSFER_OUT') and ${t.amount} < 0)`,
    ),
    check(
      'transactions_counterparty',
      sql`(${t.kind} in ('TRANSFER_IN', 'TRANSFER_OUT')) = (${t.counterpartyId} is not null and ${t.transferId} is not null)`,
    ),
    check('transactions_balance_after_non_negative', sql`${t.balanceAfter} >= 0`),
    // A transfer to oneself would move no money yet write two entries; it is never a real transfer.
    check('transactions_no_self_counterparty', sql`${t.counterpartyId} <> ${t.userId}`),
  ],
);

/** The id two entries of one transfer share (the seed moves it past the ids it used). */
export const transferIds = pgSequence('transfer_ids');

/**
 * Idempotency keys of money mutations (Stripe semantics), scoped per user. A row is written in the same database
 * transaction as the money it moved, with the outcome the first request got, so a retry replays that outcome and
 * writes nothing. Rows live at least 24 hours (see src/ledger/idempotency.ts for the cleanup).
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** SHA-256 of the operation and its normalized parameters: the same key with other parameters is refused. */
    requestHash: text('request_hash').notNull(),
    /** What the first request got: the ids of the entries it wrote, or its typed error. */
    outcome: jsonb('outcome').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.key] }),
    // The cleanup deletes by age.
    index('idempotency_keys_created_idx').on(t.createdAt),
    check('idempotency_keys_key_length', sql`char_length(${t.key}) between 1 and 255`),
  ],
);

/**
 * The transactional outbox: every write others react to (a sign-up, a post, a follow or unfollow, money moved)
 * inserts its event here in the same transaction as the write, so a committed write always has its event and a
 * rolled-back one never has (src/db/queries/outbox.ts). `id` orders events as they were written; `relayed_at` is
 * stamped once the relay (src/outbox/relay.ts) has handed the event on to its consumers.
 */
export const outboxEvents = pgTable(
  'outbox_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** What happened: `user.signedUp`, `post.created`, `follow.created`, `follow.removed`, `ledger.moved`. */
    type: text('type').notNull(),
    /** Whose history the event belongs to (the user who acted): events of one aggregate are relayed in order. */
    aggregateType: text('aggregate_type').notNull(),
    aggregateId: bigint('aggregate_id', { mode: 'number' }).notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: createdAt(),
    relayedAt: timestamp('relayed_at', { withTimezone: true, precision: 3, mode: 'date' }),
  },
  (t) => [
    // Reading the oldest unrelayed events: a small partial index, whatever the table's size.
    index('outbox_events_unrelayed_idx').on(t.id).where(sql`${t.relayedAt} is null`),
    // Relayed rows go by age.
    index('outbox_events_relayed_idx').on(t.relayedAt).where(sql`${t.relayedAt} is not null`),
  ],
);

export type UserRow = typeof users.$inferSelect;
export type PostRow = typeof posts.$inferSelect;
export type AccountRow = typeof accounts.$inferSelect;
export type TransactionRow = typeof transactions.$inferSelect;
export type Currency = (typeof currency.enumValues)[number];
export type TransactionKind = (typeof transactionKind.enumValues)[number];
export type OutboxRow = typeof outboxEvents.$inferSelect;
