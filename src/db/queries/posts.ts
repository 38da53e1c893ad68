import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { inIdsPlaceholder } from '../id-array.js';
import { keysetLimit, keysetOrder, keysetWhere, keysetWherePlaceholders, pageValues, shapeKey, shapeOf, type PageRequest } from '../keyset.js';
import { preparedQuery, preparedShapes } from '../prepared.js';
import { follows, posts, users, type PostRow, type UserRow } from '../schema.js';
import { parentId, selectLateral, subqueryColumns } from './lateral.js';
import { recordEvent } from './outbox.js';

const postKey = { at: posts.createdAt, id: posts.id };

const postsByIdsQuery = preparedQuery((db) => db.select().from(posts).where(inIdsPlaceholder(posts.id)));
export const postsByIds = (db: Db, ids: readonly number[]) => postsByIdsQuery(db, { ids: [...ids] });

/** A post of a page, and its author when the caller asked for authors to be joined in. */
export interface PostWithAuthor {
  readonly post: PostRow;
  readonly author: UserRow | null;
}

const withoutAuthors = (rows: { post: PostRow }[]): PostWithAuthor[] => rows.map(({ post }) => ({ post, author: null }));

/**
 * All posts, newest first, with each post's author joined in (one statement instead of two): the public
 * timeline, the hottest read there is, so its query is built once per page shape and only bound per request.
 */
const newestPostsWithAuthors = preparedShapes(
  (page: PageRequest) => shapeKey(shapeOf(page)),
  (db, page) =>
    db
      .select({ post: posts, author: users })
      .from(posts)
      .innerJoin(users, eq(users.id, posts.authorId))
      .where(keysetWherePlaceholders(postKey, shapeOf(page)))
      .orderBy(...keysetOrder(postKey, page))
      .limit(sql.placeholder('limit')),
  pageValues,
);

/** All posts, newest first; with `withAuthors`, each post's author joined in (one statement instead of two). */
export function postsPage(db: Db, page: PageRequest, withAuthors: boolean): Promise<PostWithAuthor[]> {
  if (withAuthors) return newestPostsWithAuthors(db, page);
  const [where, order, limit] = [keysetWhere(postKey, page), keysetOrder(postKey, page), keysetLimit(page)];
  return db.select({ post: posts }).from(posts).where(where).orderBy(...order).limit(limit).then(withoutAuthors);
}

/** The home screen's query (feedPage with its authors joined in), built once per page shape. */
const feedWithAuthors = preparedShapes(
  ({ page }: { viewerId: number; page: PageRequest }) => shapeKey(shapeOf(page)),
  (db, { page }) => {
    const limit = sql.placeholder('limit');
    const authorPage = db
      .select()
      .from(posts)
      .where(and(eq(posts.authorId, follows.followeeId), keysetWherePlaceholders(postKey, shapeOf(page))))
      .orderBy(...keysetOrder(postKey, page))
      .limit(limit)
      .as('author_page');
    return db
      .select({ post: subqueryColumns(authorPage, posts), author: users })
      .from(follows)
      .crossJoinLateral(authorPage)
      .innerJoin(users, eq(users.id, follows.followeeId))
      .where(eq(follows.followerId, sql.placeholder('viewerId')))
      .orderBy(...keysetOrder({ at: authorPage.createdAt, id: authorPage.id }, page))
      .limit(limit);
  },
  ({ viewerId, page }) => ({ viewerId, ...pageValues(page) }),
);

/**
 * The posts of the users `viewerId` follows, newest first: each followee's own newest page (by
 * posts_author_created_idx), merged and cut to one page. The work is (followees × page size) index reads
 * however deep the page, where filtering the global post order would scan ever more posts the deeper it goes.
 */
export function feedPage(db: Db, viewerId: number, page: PageRequest, withAuthors: boolean): Promise<PostWithAuthor[]> {
  if (withAuthors) return feedWithAuthors(db, { viewerId, page });
  const authorPage = db
    .select()
    .from(posts)
    .where(and(eq(posts.authorId, follows.followeeId), keysetWhere(postKey, page)))
    .orderBy(...keysetOrder(postKey, page))
    .limit(keysetLimit(page))
    .as('author_page');
  const post = subqueryColumns(authorPage, posts);
  const where = eq(follows.followerId, viewerId);
  const order = keysetOrder({ at: authorPage.createdAt, id: authorPage.id }, page);
  return db
    .select({ post })
    .from(follows)
    .crossJoinLateral(authorPage)
    .where(where)
    .orderBy(...order)
    .limit(keysetLimit(page))
    .then(withoutAuthors);
}

/** One page of posts for each author. */
export function postsPagesByAuthors(db: Db, authorIds: readonly number[], page: PageRequest) {
  const pageOfAuthor = db
    .select()
    .from(posts)
    .where(and(eq(posts.authorId, parentId), keysetWhere(postKey, page)))
    .orderBy(...keysetOrder(postKey, page))
    .limit(keysetLimit(page))
    .as('page');
  return selectLateral<PostRow>(db, authorIds, posts, pageOfAuthor, {
    key: { at: pageOfAuthor.createdAt, id: pageOfAuthor.id },
    page,
  });
}

/** A new post and its event, in one transaction. */
export function insertPost(db: Db, authorId: number, body: string): Promise<PostRow> {
  return db.transaction(async (tx) => {
    const [post] = await tx.insert(posts).values({ authorId, body }).returning();
    await recordEvent(tx, { type: 'post.created', postId: post!.id, authorId });
    return post!;
  });
}
