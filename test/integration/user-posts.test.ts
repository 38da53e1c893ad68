/** User.posts: the posts one user wrote, newest first, paged both ways, one page per user of a list. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPosts, createUsers } from '../helpers/factories.js';
import { globalId } from '../helpers/assertions.js';
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
import type { PostRow, UserRow } from '../../src/db/schema.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

interface PostNode {
  body: string;
  author: { username: string };
}

const USER_POSTS = /* GraphQL */ `
  query UserPosts($username: String!, ${PAGE_VARIABLES}) {
    user(username: $username) {
      posts(${PAGE_ARGUMENTS}) {
        edges { cursor node { body author { username } } }
        ${PAGE_INFO}
      }
    }
  }
`;

const postsOf =
  (user: UserRow) =>
  async (args: PageArgs): Promise<Page<PostNode>> => {
    const response = await server.graphql<{ user: { posts: Page<PostNode> } }>(USER_POSTS, {
      variables: { username: user.username, ...args },
    });
    expect(response.body.errors).toBeUndefined();
    return response.body.data!.user.posts;
  };

const bodiesNewestFirst = (rows: PostRow[]) => newestFirst(rows, (post) => ({ at: post.createdAt, id: post.id })).map((post) => post.body);

describe('User.posts', () => {
  let fixture: PagingFixture<PostNode>;
  let writer: UserRow;
  let other: UserRow;
  let silent: UserRow;
  let otherPosts: string[];

  beforeAll(async () => {
    const db = server.database.db;
    [writer, other, silent] = (await createUsers(db, 3)) as [UserRow, UserRow, UserRow];
    const order = insertionOrder(PAGING_SLOTS.length);
    // The other author's posts interleave with the writer's, at the same instants.
    const rows = await createPosts(
      db,
      order.flatMap((index) => [
        { authorId: writer.id, body: `mine ${index}`, createdAt: at(PAGING_SLOTS[index]!) },
        ...(index % 2 === 0 ? [{ authorId: other.id, body: `theirs ${index}`, createdAt: at(PAGING_SLOTS[index]!) }] : []),
      ]),
    );
    const expected = bodiesNewestFirst(rows.filter((post) => post.authorId === writer.id));
    otherPosts = bodiesNewestFirst(rows.filter((post) => post.authorId === other.id));
    fixture = { fetch: postsOf(writer), expected, empty: postsOf(silent) };
  });

  pagingContract((post) => post.body, () => fixture);

  it('holds only the user\'s own posts', async () => {
    const page = await postsOf(other)({ first: 100 });
    expect(page.edges.map((edge) => edge.node.body)).toEqual(otherPosts);
    expect(new Set(page.edges.map((edge) => edge.node.author.username))).toEqual(new Set([other.username]));
  });

  it('answers several pages of one user\'s posts in one request, each by its own arguments', async () => {
    const cursor = (await postsOf(writer)({ first: 100 })).edges[9]!.cursor;
    const query = /* GraphQL */ `
      query Aliases($username: String!, $cursor: String!) {
        user(username: $username) {
          newest: posts(first: 2) { edges { node { body } } }
          oldest: posts(last: 2) { edges { node { body } } }
          after: posts(first: 2, after: $cursor) { edges { node { body } } }
          before: posts(last: 2, before: $cursor) { edges { node { body } } }
          wider: posts(first: 3) { edges { node { body } } }
        }
      }
    `;
    const response = await server.graphql<{ user: Record<string, Page<{ body: string }>> }>(query, {
      variables: { username: writer.username, cursor },
    });
    expect(response.body.errors).toBeUndefined();
    const bodies = Object.fromEntries(
      Object.entries(response.body.data!.user).map(([alias, page]) => [alias, page.edges.map((edge) => edge.node.body)]),
    );
    expect(bodies).toEqual({
      newest: fixture.expected.slice(0, 2),
      oldest: fixture.expected.slice(-2),
      after: fixture.expected.slice(10, 12),
      before: fixture.expected.slice(7, 9),
      wider: fixture.expected.slice(0, 3),
    });
  });

  it('gives each user of a list their own page, for forward and backward pages alike', async () => {
    const query = /* GraphQL */ `
      query Lists($ids: [ID!]!, ${PAGE_VARIABLES}) {
        nodes(ids: $ids) {
          ... on User { username posts(${PAGE_ARGUMENTS}) { edges { node { body } } ${PAGE_INFO} } }
        }
      }
    `;
    const ids = [writer, other, silent, writer].map((user) => globalId('User', user.id));
    type Lists = { nodes: { username: string; posts: Page<{ body: string }> }[] };
    const bodies = (lists: Lists) => lists.nodes.map((user) => user.posts.edges.map((edge) => edge.node.body));

    const first = await server.graphql<Lists>(query, { variables: { ids, first: 3 } });
    expect(first.body.errors).toBeUndefined();
    expect(bodies(first.body.data!)).toEqual([
      fixture.expected.slice(0, 3),
      otherPosts.slice(0, 3),
      [],
      fixture.expected.slice(0, 3),
    ]);
    expect(first.body.data!.nodes.map((user) => user.posts.pageInfo.hasNextPage)).toEqual([true, true, false, true]);

    const last = await server.graphql<Lists>(query, { variables: { ids, last: 2 } });
    expect(last.body.errors).toBeUndefined();
    expect(bodies(last.body.data!)).toEqual([
      fixture.expected.slice(-2),
      otherPosts.slice(-2),
      [],
      fixture.expected.slice(-2),
    ]);
  });
});
