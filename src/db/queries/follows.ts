import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { keysetLimit, keysetOrder, keysetWhere, type PageRequest } from '../keyset.js';
import { follows, users, type UserRow } from '../schema.js';
import { parentId, selectLateral } from './lateral.js';
import { recordEvent } from './outbox.js';

/** A user in a follow list, with when the follow happened (the list's sort key). */
export type FollowListRow = UserRow & { followedAt: Date };

/**
 * One page of follow lists for each user: `side` 'followers' lists who follows them, 'following' whom they follow,
 * newest follow first. Each side pages by its own index (follows_followee_created_idx, follows_follower_created_idx).
 */
export function followPages(db: Db, side: 'followers' | 'following', userIds: readonly number[], page: PageRequest) {
  const [self, other] =
    side === 'followers' ? [follows.followeeId, follows.followerId] : [follows.followerId, follows.followeeId];
  const key = { at: follows.createdAt, id: other };
  const pageOfUser = db
    .select({
      ...getTableColumns(users),
      // Aliased: users.created_at is selected too, and the outer query picks columns by name.
      followedAt: sql<Date>`${follows.createdAt}`.mapWith(follows.createdAt).as('followed_at'),
    })
    .from(follows)
    .innerJoin(users, eq(users.id, other))
    .where(and(eq(self, parentId), keysetWhere(key, page)))
    .orderBy(...keysetOrder(key, page))
    .limit(keysetLimit(page))
    .as('page');
  return selectLateral<FollowListRow>(db, userIds, users, pageOfUser, {
    key: { at: pageOfUser.followedAt, id: pageOfUser.id },
    page,
    extra: ['followedAt'],
  });
}

/** Follows `followeeId`, with its event; already following is no change and no event. Returns whether a follow was added. */
export function insertFollow(db: Db, followerId: number, followeeId: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    const added = await tx.insert(follows).values({ followerId, followeeId }).onConflictDoNothing().returning({ id: follows.followeeId });
    if (added.length > 0) await recordEvent(tx, { type: 'follow.created', followerId, followeeId });
    return added.length > 0;
  });
}

/** Stops following, with its event; not following is no change and no event. Returns whether a follow was removed. */
export function deleteFollow(db: Db, followerId: number, followeeId: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    const removed = await tx
      .delete(follows)
      .where(and(eq(follows.followerId, followerId), eq(follows.followeeId, followeeId)))
      .returning({ id: follows.followeeId });
    if (removed.length > 0) await recordEvent(tx, { type: 'follow.removed', followerId, followeeId });
    return removed.length > 0;
  });
}

/** The ids of up to `limit` users who follow `userId` (by the followee index), for dropping their cached feeds. */
export async function followerIdsOf(db: Db, userId: number, limit: number): Promise<number[]> {
  const rows = await db.select({ id: follows.followerId }).from(follows).where(eq(follows.followeeId, userId)).limit(limit);
  return rows.map((row) => row.id);
}
