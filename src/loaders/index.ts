/**
 * Every DataLoader of a request, built per request by the context (never at module scope: a shared loader would
 * serve one viewer's rows to another and grow without bound).
 */
import DataLoader from 'dataloader';
import type { Db } from '../db/client.js';
import { followPages, type FollowListRow } from '../db/queries/follows.js';
import { postsByIds, postsPagesByAuthors } from '../db/queries/posts.js';
import { transactionsByIds } from '../db/queries/transactions.js';
import { accountsByUserIds, usersByIds } from '../db/queries/users.js';
import type { AccountRow, PostRow, TransactionRow, UserRow } from '../db/schema.js';
import type { UserCache } from '../cache/user-cache.js';
import { mapTo } from './map.js';
import { pageLoader } from './pages.js';

export interface LoaderOptions {
  /** false only in load tests, to measure the N+1 that batching removes (config UNBATCHED_LOADERS). */
  readonly batch?: boolean;
  /** Users by id kept across requests (cache-aside); every user from PostgreSQL when absent. */
  readonly users?: UserCache | undefined;
}

/**
 * The most keys one statement is sent. A request may ask for tens of thousands of ids (aliases of nodes(ids:));
 * in batches this size each statement stays a quick index lookup instead of one huge array.
 */
export const MAX_BATCH_SIZE = 1000;

export function createLoaders(db: Db, { batch = true, users }: LoaderOptions = {}) {
  const options = { batch, maxBatchSize: MAX_BATCH_SIZE };
  const loadUsers = (ids: readonly number[]) => (users ? users.load(ids, (missing) => usersByIds(db, missing)) : usersByIds(db, ids));
  return {
    user: new DataLoader<number, UserRow | null>(async (ids) => mapTo(ids, await loadUsers(ids), (r) => r.id), options),
    post: new DataLoader<number, PostRow | null>(async (ids) => mapTo(ids, await postsByIds(db, ids), (r) => r.id), options),
    transaction: new DataLoader<number, TransactionRow | null>(
      async (ids) => mapTo(ids, await transactionsByIds(db, ids), (r) => r.id),
      options,
    ),
    account: new DataLoader<number, AccountRow | null>(
      async (userIds) => mapTo(userIds, await accountsByUserIds(db, userIds), (r) => r.userId),
      options,
    ),
    postsOf: pageLoader<PostRow>((ids, page) => postsPagesByAuthors(db, ids, page), options),
    followersOf: pageLoader<FollowListRow>((ids, page) => followPages(db, 'followers', ids, page), options),
    followingOf: pageLoader<FollowListRow>((ids, page) => followPages(db, 'following', ids, page), options),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
