/**
 * What a cached answer depends on, and what a committed write changes, in one vocabulary of tags:
 *
 * - `Query.posts` and `Query.feed` when an answer selects them, the root fields a write changes as such (the
 *   newest posts, a viewer's feed); a feed also `Query.feed:<viewer id>`. Other root fields (`user`, `node`,
 *   `viewer`) are changed only through the fields below, so no write names them and no list is kept for them.
 * - `<Type>.<field>:<global id>` for each changing field (src/cache/policy.ts) read from an object whose `id`
 *   the answer holds, and `<Type>.<field>` alone when it holds no id for it (dropped by any such write).
 *
 * A write drops every answer carrying one of its tags (src/cache/response-cache.ts). The feed is the one write
 * that reaches other viewers: a post drops its author's followers' feeds, one tag each, or every feed when
 * the author has more followers than are worth naming one by one.
 */
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { DomainEvent } from '../events.js';
import type { CachePolicy, TagPlan } from './policy.js';

/** Past this many followers a post drops every cached feed (one tag) instead of one tag per follower. */
export const MAX_FEED_TAGS = 10_000;

/** The root fields some write drops as such (see invalidatedBy). */
const CHANGING_ROOTS: ReadonlySet<string> = new Set(['Query.posts', 'Query.feed']);

export function tagsOf(policy: CachePolicy, data: unknown, viewerId: number | undefined): string[] {
  const tags = new Set<string>();
  for (const tag of policy.rootTags) {
    if (!CHANGING_ROOTS.has(tag)) continue;
    tags.add(tag);
    if (policy.scope === 'PRIVATE' && viewerId !== undefined) tags.add(`${tag}:${viewerId}`);
  }
  // Iterative: a page of 100 posts with their authors is only a few levels deep, but nothing here trusts that.
  const pending: [TagPlan, unknown][] = [[policy.plan, data]];
  while (pending.length > 0) {
    const [plan, value] = pending.pop()!;
    if (Array.isArray(value)) {
      for (const item of value) pending.push([plan, item]);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    const object = value as Record<string, unknown>;
    const id = plan.idKeys.map((key) => object[key]).find((each) => typeof each === 'string');
    for (const [key, coordinate] of plan.changing) {
      if (key in object) tags.add(typeof id === 'string' ? `${coordinate}:${id}` : coordinate);
    }
    for (const [key, child] of plan.children) if (object[key] != null) pending.push([child, object[key]]);
  }
  return [...tags];
}

const userTags = (coordinate: string, userId: number) => [coordinate, `${coordinate}:${encodeGlobalID('User', userId)}`];

/**
 * The tags a committed write drops. `followersOf` reads who follows an author (at most MAX_FEED_TAGS + 1 of them)
 * for a post; it is asked only for posts, and when it fails (the pool is exhausted, the statement timed out)
 * every feed is dropped instead: a write is never left undropped.
 */
export async function invalidatedBy(event: DomainEvent, followersOf: (userId: number, limit: number) => Promise<readonly number[]>): Promise<string[]> {
  switch (event.type) {
    case 'post.created': {
      const followers = await followersOf(event.authorId, MAX_FEED_TAGS + 1).catch(() => undefined);
      const feeds = !followers || followers.length > MAX_FEED_TAGS ? ['Query.feed'] : followers.map((id) => `Query.feed:${id}`);
      return ['Query.posts', ...userTags('User.posts', event.authorId), ...feeds];
    }
    case 'follow.created':
    case 'follow.removed':
      return [...userTags('User.followers', event.followeeId), ...userTags('User.following', event.followerId), `Query.feed:${event.followerId}`];
    case 'ledger.moved':
      return event.userIds.flatMap((id) => [...userTags('User.balance', id), ...userTags('User.transactions', id)]);
    case 'user.signedUp':
      // Nothing cached shows a user before they exist: answers whose root field is null are not kept.
      return [];
  }
}
