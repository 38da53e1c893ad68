import { and, eq } from 'drizzle-orm';
import type { Db } from '../client.js';
import { inIds } from '../id-array.js';
import { keysetLimit, keysetOrder, keysetWhere, type PageRequest } from '../keyset.js';
import { follows, posts, type PostRow } from '../schema.js';
import { parentId, selectLateral, subqueryColumns } from './lateral.js';

const postKey = { at: posts.createdAt, id: posts.id };

export const postsByIds = (db: Db, ids: readonly number[]) =>
  db.select().from(posts).where(inIds(posts.id, ids));

/** All posts, newest first. */
export const postsPage = (db: Db, page: PageRequest) =>
  db
    .select()
    .from(posts)
    .where(keysetWhere(postKey, page))
    .orderBy(...keysetOrder(postKey, page))
    .limit(keysetLimit(page));

/**
 * The posts of the users `viewerId` follows, newest first: each followee's own newest page (by
 * posts_author_created_idx), merged and cut to one page. The work is (followees × page size) index reads
 * however deep the page, where filtering the global post order would scan ever more posts the deeper it goes.
 */
export function feedPage(db: Db, viewerId: number, page: PageRequest) {
  const authorPage = db
    .select()
    .from(posts)
    .where(and(eq(posts.authorId, follows.followeeId), keysetWhere(postKey, page)))
    .orderBy(...keysetOrder(postKey, page))
    .limit(keysetLimit(page))
    .as('author_page');
  return db
    .select(subqueryColumns(authorPage, posts))
    .from(follows)
    .crossJoinLateral(authorPage)
    .where(eq(follows.followerId, viewerId))
    .orderBy(...keysetOrder({ at: authorPage.createdAt, id: authorPage.id }, page))
    .limit(keysetLimit(page));
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
