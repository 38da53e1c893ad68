/** Query.posts: every post, newest first, paged both ways (the contract in helpers/paging.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPosts, createUsers } from '../helpers/factories.js';
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

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

interface PostNode {
  body: string;
  createdAt: string;
  author: { username: string };
}

const POSTS = /* GraphQL */ `
  query Posts(${PAGE_VARIABLES}) {
    posts(${PAGE_ARGUMENTS}) {
      edges { cursor node { body createdAt author { username } } }
      ${PAGE_INFO}
    }
  }
`;

async function postsPage(args: PageArgs): Promise<Page<PostNode>> {
  const response = await server.graphql<{ posts: Page<PostNode> }>(POSTS, { variables: { ...args } });
  expect(response.body.errors).toBeUndefined();
  return response.body.data!.posts;
}

describe('Query.posts', () => {
  // First in the file: the posts table is still empty.
  it('answers with no edges, no pages either way and null cursors before there is any post', async () => {
    for (const args of [{}, { first: 10 }, { last: 10 }, { first: 0 }, { last: 0 }]) {
      expect(await postsPage(args)).toEqual({
        edges: [],
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      });
    }
  });

  describe('paging', () => {
    let fixture: PagingFixture<PostNode>;
    let slotOf: Map<string, number>;

    beforeAll(async () => {
      const db = server.database.db;
      const authors = await createUsers(db, 3);
      const order = insertionOrder(PAGING_SLOTS.length);
      const rows = await createPosts(
        db,
        order.map((index, k) => ({ authorId: authors[k % 3]!.id, body: `post ${index}`, createdAt: at(PAGING_SLOTS[index]!) })),
      );
      slotOf = new Map(order.map((index) => [`post ${index}`, PAGING_SLOTS[index]!]));
      const expected = newestFirst(rows, (post) => ({ at: post.createdAt, id: post.id })).map((post) => post.body);
      fixture = { fetch: postsPage, expected, empty: null };
    });

    pagingContract((post) => post.body, () => fixture, { empty: false });

    it('shows each post with its own createdAt and author', async () => {
      const page = await postsPage({ first: 100 });
      for (const { node } of page.edges) {
        expect(node.createdAt).toBe(at(slotOf.get(node.body)!).toISOString());
        expect(node.author.username).toMatch(/^person/);
      }
    });
  });
});
