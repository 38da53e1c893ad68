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

/**
 * A request's loaders, each made the first time the request asks for it: most operations use one or two of the
 * seven, and a request that builds none of the others allocates none of them.
 */
export class Loaders {
  readonly #options: { batch: boolean; maxBatchSize: number };
  #user?: DataLoader<number, UserRow | null>;
  #post?: DataLoader<number, PostRow | null>;
  #transaction?: DataLoader<number, TransactionRow | null>;
  #account?: DataLoader<number, AccountRow | null>;
  #postsOf?: ReturnType<typeof pageLoader<PostRow>>;
  #followersOf?: ReturnType<typeof pageLoader<FollowListRow>>;
  #followingOf?: ReturnType<typeof pageLoader<FollowListRow>>;

  constructor(
    private readonly db: Db,
    { batch = true, users }: LoaderOptions = {},
  ) {
    this.#options = { batch, maxBatchSize: MAX_BATCH_SIZE };
    this.users = users;
  }

  private readonly users: UserCache | undefined;

  get user(): DataLoader<number, UserRow | null> {
    const { db, users } = this;
    const load = (ids: readonly number[]) => (users ? users.load(ids, (missing) => usersByIds(db, missing)) : usersByIds(db, ids));
    return (this.#user ??= new DataLoader(async (ids) => mapTo(ids, await load(ids), (r) => r.id), this.#options));
  }

  get post(): DataLoader<number, PostRow | null> {
    return (this.#post ??= new DataLoader(async (ids) => mapTo(ids, await postsByIds(this.db, ids), (r) => r.id), this.#options));
  }

  get transaction(): DataLoader<number, TransactionRow | null> {
    return (this.#transaction ??= new DataLoader(async (ids) => mapTo(ids, await transactionsByIds(this.db, ids), (r) => r.id), this.#options));
  }

  get account(): DataLoader<number, AccountRow | null> {
    return (this.#account ??= new DataLoader(async (userIds) => mapTo(userIds, await accountsByUserIds(this.db, userIds), (r) => r.userId), this.#options));
  }

  get postsOf() {
    return (this.#postsOf ??= pageLoader<PostRow>((ids, page) => postsPagesByAuthors(this.db, ids, page), this.#options));
  }

  get followersOf() {
    return (this.#followersOf ??= pageLoader<FollowListRow>((ids, page) => followPages(this.db, 'followers', ids, page), this.#options));
  }

  get followingOf() {
    return (this.#followingOf ??= pageLoader<FollowListRow>((ids, page) => followPages(this.db, 'following', ids, page), this.#options));
  }
}

export const createLoaders = (db: Db, options: LoaderOptions = {}): Loaders => new Loaders(db, options);
