import { sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { inIds } from '../id-array.js';
import { accounts, users, type Currency, type UserRow } from '../schema.js';

export const usersByIds = (db: Db, ids: readonly number[]) =>
  db.select().from(users).where(inIds(users.id, ids));

/** Usernames are unique regardless of case (see the lower(username) index this uses). */
export async function userByUsername(db: Db, username: string) {
  const [row] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.username}) = lower(${username})`)
    .limit(1);
  return row ?? null;
}

export const accountsByUserIds = (db: Db, userIds: readonly number[]) =>
  db.select().from(accounts).where(inIds(accounts.userId, userIds));

/** A new user and their empty account, in one transaction: a user never exists without an account. */
export function insertUserWithAccount(
  db: Db,
  fields: { username: string; name: string; email: string; currency: Currency },
): Promise<UserRow> {
  return db.transaction(async (tx) => {
    const [user] = await tx.insert(users).values({ username: fields.username, name: fields.name, email: fields.email }).returning();
    await tx.insert(accounts).values({ userId: user!.id, currency: fields.currency });
    return user!;
  });
}
