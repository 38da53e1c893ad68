import { sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { inIds } from '../id-array.js';
import { accounts, users } from '../schema.js';

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
