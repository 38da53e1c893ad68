/**
 * Helpers for driving mutations through the server and seeing exactly what each one wrote: every table's row
 * count and every balance before and after, and the events told while it ran, held to the events the outbox
 * recorded.
 */
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { rowsOf, type Db } from '../../src/db/client.js';
import type { DomainEvent } from '../../src/events.js';
import { graphqlRequest, type RequestOptions, type TestServer } from './server.js';

export interface MutationError {
  code: string;
  message: string;
  field: string[] | null;
}

const ERRORS = 'errors { code message field }';
const MONEY = '{ amount currency }';
const ENTRY = `entry { id kind amount ${MONEY} balanceAfter ${MONEY} description counterparty { id username } createdAt }`;
const VIEWER_BALANCE = `viewer { id balance ${MONEY} }`;

export const SIGN_UP = /* GraphQL */ `
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) { user { id username name } ${ERRORS} }
  }
`;
export const CREATE_POST = /* GraphQL */ `
  mutation CreatePost($input: CreatePostInput!) {
    createPost(input: $input) { post { id body createdAt author { id username } } ${ERRORS} }
  }
`;
export const FOLLOW = /* GraphQL */ `
  mutation Follow($input: FollowInput!) {
    followUser(input: $input) { user { id username } viewer { id following(first: 100) { edges { node { id } } } } ${ERRORS} }
  }
`;
export const UNFOLLOW = /* GraphQL */ `
  mutation Unfollow($input: FollowInput!) {
    unfollowUser(input: $input) { user { id username } viewer { id following(first: 100) { edges { node { id } } } } ${ERRORS} }
  }
`;
export const DEPOSIT = /* GraphQL */ `
  mutation Deposit($input: DepositInput!) { deposit(input: $input) { ${ENTRY} ${VIEWER_BALANCE} ${ERRORS} } }
`;
export const WITHDRAW = /* GraphQL */ `
  mutation Withdraw($input: WithdrawInput!) { withdraw(input: $input) { ${ENTRY} ${VIEWER_BALANCE} ${ERRORS} } }
`;
export const TRANSFER = /* GraphQL */ `
  mutation Transfer($input: TransferInput!) { transfer(input: $input) { ${ENTRY} ${VIEWER_BALANCE} ${ERRORS} } }
`;

export interface Money {
  amount: string;
  currency: string;
}

export interface Entry {
  id: string;
  kind: string;
  amount: Money;
  balanceAfter: Money;
  description: string;
  counterparty: { id: string; username: string } | null;
  createdAt: string;
}

export interface MoneyPayload {
  entry: Entry | null;
  viewer: { id: string; balance: Money | null } | null;
  errors: MutationError[];
}

/** A mutation's response exactly as sent: its status, its body's text and that text parsed. */
export interface RawResponse<T> {
  status: number;
  text: string;
  body: { data?: T | null; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] };
}

/** Like server.graphql, but keeps the body's text, to compare a replayed response byte for byte. */
export async function sendRaw<T = Record<string, unknown>>(server: TestServer, query: string, options: RequestOptions = {}): Promise<RawResponse<T>> {
  const response = await server.fetch('/graphql', await graphqlRequest(query, options, (userId) => server.tokenFor(userId)));
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as RawResponse<T>['body'] };
}

const TABLES = ['users', 'posts', 'follows', 'accounts', 'transactions', 'idempotency_keys'] as const;
type Table = (typeof TABLES)[number];

interface Snapshot {
  counts: Record<Table, number>;
  balances: Map<number, bigint>;
  /** The newest outbox event's id (0 when none). */
  lastEvent: number;
}

async function snapshot(db: Db): Promise<Snapshot> {
  const counts = {} as Record<Table, number>;
  for (const table of TABLES) {
    const [row] = rowsOf<{ count: string | number }>(await db.execute(sql`select count(*) as count from ${sql.identifier(table)}`));
    counts[table] = Number(row!.count);
  }
  const balances = new Map(
    rowsOf<{ user_id: string | number; balance: string | number }>(await db.execute(sql`select user_id, balance::text as balance from accounts`)).map(
      (row) => [Number(row.user_id), BigInt(row.balance)] as const,
    ),
  );
  const [last] = rowsOf<{ id: string | number }>(await db.execute(sql`select coalesce(max(id), 0) as id from outbox_events`));
  return { counts, balances, lastEvent: Number(last!.id) };
}

/** The events the outbox recorded after `lastEvent`, in their order. */
async function recordedSince(db: Db, lastEvent: number): Promise<DomainEvent[]> {
  const rows = rowsOf<{ payload: DomainEvent | string }>(await db.execute(sql`select payload from outbox_events where id > ${lastEvent} order by id`));
  // node-postgres parses jsonb; PGlite too, but a text payload would be a bug worth seeing as one.
  return rows.map((row) => (typeof row.payload === 'string' ? (JSON.parse(row.payload) as DomainEvent) : row.payload));
}

/** What an action wrote: new rows per table, and each balance it moved (user id → change in minor units). */
export interface Changes {
  rows: Record<Table, number>;
  balances: Record<number, bigint>;
}

export const NOTHING: Changes = {
  rows: { users: 0, posts: 0, follows: 0, accounts: 0, transactions: 0, idempotency_keys: 0 },
  balances: {},
};

/** NOTHING but these changes. */
export const only = (rows: Partial<Changes['rows']>, balances: Changes['balances'] = {}): Changes => ({
  rows: { ...NOTHING.rows, ...rows },
  balances,
});

/**
 * Runs an action and returns its result, the changes it made to the database and the events it told, which must
 * be the events the outbox recorded. The test file's requests run one at a time, so every change seen is the
 * action's own.
 */
export async function observe<T>(server: TestServer, action: () => Promise<T>): Promise<{ result: T; changes: Changes; events: DomainEvent[] }> {
  const events: DomainEvent[] = [];
  const before = await snapshot(server.database.db);
  const stop = server.events.subscribe((event) => void events.push(event));
  let result: T;
  try {
    result = await action();
  } finally {
    stop();
  }
  const after = await snapshot(server.database.db);
  // The outbox holds exactly the events told, in order: every committed write others react to recorded its
  // event in its own transaction, and a refused or rolled-back one none.
  expect(await recordedSince(server.database.db, before.lastEvent), 'the events the outbox recorded').toEqual(events);
  const rows = {} as Record<Table, number>;
  for (const table of TABLES) rows[table] = after.counts[table] - before.counts[table];
  const balances: Record<number, bigint> = {};
  for (const [userId, balance] of after.balances) {
    const change = balance - (before.balances.get(userId) ?? 0n);
    if (change !== 0n) balances[userId] = change;
  }
  return { result, changes: { rows, balances }, events };
}
