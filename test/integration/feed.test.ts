/**
 * Query.feed: the posts of the authors the viewer follows, newest first, paged both ways. The feed merges each
 * followee's own page, so its rows (and its ties) are spread over three authors on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPosts, createUsers, followMany } from '../helpers/factories.js';
import {
  at,
  insertionOrder,
  newestFirst,
  PAGE_ARGUMENTS,
  PAGE_INFO,
  PAGE_VARIABLES,
  PAGING_SLOTS,
  pagingContract,
  type Page,
  type PageArgs,
  type PagingFixture,
} from '../helpers/paging.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { UserRow } from '../../src/db/schema.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

interface PostNode {
  body: string;
  author: { username: string };
}

const FEED = /* GraphQL */ `
  query Feed(${PAGE_VARIABLES}) {
    feed(${PAGE_ARGUMENTS}) {
      edges { cursor node { body author { username } } }
      ${PAGE_INFO}
    }
  }
`;

const feedOf =
  (viewer: UserRow) =>
  async (args: PageArgs): Promise<Page<PostNode>> => {
    const response = await server.graphql<{ feed: Page<PostNode> }>(FEED, { variables: { ...args }, as: viewer.id });
    expect(response.body.errors).toBeUndefined();
    return response.body.data!.feed;
  };

describe('Query.feed', () => {
  let fixture: PagingFixture<PostNode>;
  let followed: UserRow[];
  let viewer: UserRow;
  let stranger: UserRow;

  beforeAll(async () => {
    const db = server.database.db;
    const [reader, loner, a, b, c, d, fan] = await createUsers(db, 7);
    viewer = reader!;
    stranger = d!;
    followed = [a!, b!, c!];
    await followMany(db, [
      ...followed.map((author) => ({ followerId: viewer.id, followeeId: author.id })),
      // Follows that are not the viewer's: d's posts reach d's followers, never the viewer.
      { followerId: fan!.id, followeeId: stranger.id },
      { followerId: stranger.id, followeeId: a!.id },
      { followerId: a!.id, followeeId: viewer.id },
    ]);
    const order = insertionOrder(PAGING_SLOTS.length);
    const rows = await createPosts(db, [
      ...order.map((index, k) => ({ authorId: followed[k % 3]!.id, body: `feed ${index}`, createdAt: at(PAGING_SLOTS[index]!) })),
      // Same instants as the feed's rows, by an author the viewer does not follow and by the viewer.
      ...PAGING_SLOTS.map((slot, index) => ({ authorId: stranger.id, body: `stranger ${index}`, createdAt: at(slot) })),
      ...[0, 5, 5, 18].map((slot, index) => ({ authorId: viewer.id, body: `own ${index}`, createdAt: at(slot) })),
    ]);
    const feedRows = rows.filter((post) => followed.some((author) => author.id === post.authorId));
    const expected = newestFirst(feedRows, (post) => ({ at: post.createdAt, id: post.id })).map((post) => post.body);
    fixture = { fetch: feedOf(viewer), expected, empty: feedOf(loner!) };
  });

  pagingContract((post) => post.body, () => fixture);

  it('shows only posts of the authors the viewer follows: not a stranger\'s, not the viewer\'s own', async () => {
    const page = await feedOf(viewer)({ first: 100 });
    expect(page.edges).toHaveLength(30);
    const usernames = new Set(page.edges.map((edge) => edge.node.author.username));
    expect([...usernames].sort()).toEqual(followed.map((author) => author.username).sort());
  });

  it('is someone else\'s feed for another viewer', async () => {
    const fan = await feedOf(stranger)({ first: 100 });
    // The stranger follows only a: a third of the viewer's feed.
    expect(fan.edges.map((edge) => edge.node.author.username)).toEqual(Array(10).fill(followed[0]!.username));
  });

  it('is empty for a viewer whose followees have not posted', async () => {
    const [quiet, silent] = await createUsers(server.database.db, 2);
    await followMany(server.database.db, [{ followerId: quiet!.id, followeeId: silent!.id }]);
    expect(await feedOf(quiet!)({ first: 10 })).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it('needs a signed-in viewer', async () => {
    const response = await server.graphql(FEED, { variables: { first: 5 } });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ feed: null });
    expect(response.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  });
});
