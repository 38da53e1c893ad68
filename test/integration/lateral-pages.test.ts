/**
 * The "page per parent" statements (User.posts, User.followers, User.following on a list of users) say their
 * own row order: parent by parent in the order the ids were given, each page in its direction. A lateral
 * subquery's ORDER BY only picks the page's rows; without an outer ORDER BY the order they come out in is
 * whatever the plan produces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageRequest } from '../../src/db/keyset.js';
import { followPages } from '../../src/db/queries/follows.js';
import { postsPagesByAuthors } from '../../src/db/queries/posts.js';
import type { UserRow } from '../../src/db/schema.js';
import { createPosts, createUsers, followMany } from '../helpers/factories.js';
import { at } from '../helpers/paging.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let test: TestDatabase;
let users: UserRow[];

const forward = (size: number): PageRequest => ({ size, direction: 'forward', after: undefined, before: undefined });
const backward = (size: number): PageRequest => ({ size, direction: 'backward', after: undefined, before: undefined });

beforeAll(async () => {
  test = await createTestDatabase();
  const db = test.database.db;
  users = await createUsers(db, 4);
  // Ids do not follow the timestamps (inserted oldest and newest alternately), and two posts tie on time.
  await createPosts(
    db,
    users.flatMap((user, u) =>
      [3, 0, 2, 1, 1].map((slot, k) => ({ authorId: user.id, body: `${u}.${k}`, createdAt: at(u * 10 + slot) })),
    ),
  );
  await followMany(
    db,
    users.flatMap((follower, f) =>
      users.filter((followee) => followee !== follower).map((followee, k) => ({ followerId: follower.id, followeeId: followee.id, createdAt: at(f * 10 + ((k * 2) % 3)) })),
    ),
  );
});
afterAll(() => test.close());

/** A row's parent and its key in the page order: [parent, time, id]. */
type RowKey = readonly [number, number, number];

/** The rows, in the order the statement returned them, come parent by parent, each page in its direction. */
function expectParentByParent(keys: readonly RowKey[], parents: readonly number[], direction: 'forward' | 'backward') {
  expect(keys.length).toBeGreaterThan(parents.length);
  const sign = direction === 'forward' ? -1 : 1;
  for (let i = 1; i < keys.length; i += 1) {
    const [previous, current] = [keys[i - 1]!, keys[i]!];
    const parentStep = parents.indexOf(current[0]) - parents.indexOf(previous[0]);
    expect(parentStep, `row ${i} goes back to an earlier parent`).toBeGreaterThanOrEqual(0);
    if (parentStep === 0) {
      const step = Math.sign(current[1] - previous[1]) || Math.sign(current[2] - previous[2]);
      expect(step, `row ${i} is out of the page's order`).toBe(sign);
    }
  }
}

describe('selectLateral', () => {
  it.each([
    ['forward', forward(3)],
    ['backward', backward(3)],
  ] as const)('returns posts pages parent by parent in the order of the ids given, each %s', async (direction, page) => {
    const parents = [users[2]!.id, users[0]!.id, users[3]!.id, users[1]!.id];
    test.statements.reset();
    const rows = await postsPagesByAuthors(test.database.db, parents, page);
    expect(test.statements.count).toBe(1);
    expect(rows).toHaveLength(parents.length * 4);
    expectParentByParent(rows.map((row) => [row.parentId, row.createdAt.getTime(), row.id]), parents, direction);
    // The order is the statement's, not the plan's: parent ordinality first, then the page's own key.
    const order = direction === 'forward' ? 'desc' : 'asc';
    expect(test.statements.log[0]).toMatch(/unnest\(\$1::bigint\[\]\) with ordinality as parent\(id, ord\)/);
    expect(test.statements.log[0]).toMatch(new RegExp(`order by parent\\.ord, "page"\\."created_at" ${order}, "page"\\."id" ${order}$`));
  });

  it.each([
    ['followers', forward(2)],
    ['following', backward(2)],
  ] as const)('returns %s pages parent by parent, each in the page\'s order of follow time', async (side, page) => {
    const parents = [users[3]!.id, users[1]!.id, users[0]!.id, users[2]!.id];
    test.statements.reset();
    const rows = await followPages(test.database.db, side, parents, page);
    expect(test.statements.count).toBe(1);
    expect(rows).toHaveLength(parents.length * 3);
    expectParentByParent(rows.map((row) => [row.parentId, row.followedAt.getTime(), row.id]), parents, page.direction);
    const order = page.direction === 'forward' ? 'desc' : 'asc';
    expect(test.statements.log[0]).toMatch(new RegExp(`order by parent\\.ord, "followed_at" ${order}, "page"\\."id" ${order}$`));
  });

  it('answers an empty list of parents with no rows', async () => {
    expect(await postsPagesByAuthors(test.database.db, [], forward(3))).toEqual([]);
  });
});
