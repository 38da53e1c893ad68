import { sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { inIdsPlaceholder } from '../id-array.js';
import { preparedQuery } from '../prepared.js';
import { accounts, users, type Currency, type UserRow } from '../schema.js';
import { recordEvent } from './outbox.js';

// The loaders' batches: one statement each, whatever the count of ids, built once.
const usersByIdsQuery = preparedQuery((db) => db.select().from(users).where(inIdsPlaceholder(users.id)));
export const usersByIds = (db: Db, ids: readonly number[]) => usersByIdsQuery(db, { ids: [...ids] });

const accountsQuery = preparedQuery((db) => db.select().from(accounts).where(inIdsPlaceholder(accounts.userId)));
export const accountsByUserIds = (db: Db, userIds: readonly number[]) => accountsQuery(db, { ids: [...userIds] });

/** Usernames are unique regardless of case (see the lower(username) index this uses). */
const userByUsernameQuery = preparedQuery((db) =>
  db
    .select()
    .from(users)
    .where(sql`lower(${users.username}) = lower(${sql.placeholder('username')})`)
    .limit(1),
);
export async function userByUsername(db: Db, username: string) {
  const [row] = await userByUsernameQuery(db, { username });
  return row ?? null;
}

/** A new user, their empty account and the sign-up's event, in one transaction: a user never exists without an account. */
export function insertUserWithAccount(
  db: Db,
  fields: { username: string; name: string; email: string; currency: Currency },
): Promise<UserRow> {
  return db.transaction(async (tx) => {
    const [user] = await tx.insert(users).values({ username: fields.username, name: fields.name, email: fields.email }).returning();
    await tx.insert(accounts).values({ userId: user!.id, currency: fields.currency });
    await recordEvent(tx, { type: 'user.signedUp', userId: user!.id });
    return user!;
  });
}
