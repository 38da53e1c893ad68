/**
 * User.followers and User.following: follow lists, most recent follow first (ties broken by the listed user's id,
 * descending), paged both ways, each edge carrying when the follow began.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsers, followMany } from '../helpers/factories.js';
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

type Side = 'followers' | 'following';

interface FollowNode {
  username: string;
  createdAt: string;
  /** FollowEdge.followedAt, moved onto the node so the paging contract can key on the node alone. */
  followedAt: string;
}

const listQuery = (side: Side) => /* GraphQL */ `
  query FollowList($username: String!, ${PAGE_VARIABLES}) {
    user(username: $username) {
      ${side}(${PAGE_ARGUMENTS}) {
        edges { cursor followedAt node { username createdAt } }
        ${PAGE_INFO}
      }
    }
  }
`;

const listOf =
  (side: Side, user: UserRow) =>
  async (args: PageArgs): Promise<Page<FollowNode>> => {
    type Edge = { cursor: string; followedAt: string; node: { username: string; createdAt: string } };
    const response = await server.graphql<{ user: Record<Side, { edges: Edge[]; pageInfo: Page<FollowNode>['pageInfo'] }> }>(
      listQuery(side),
      { variables: { username: user.username, ...args } },
    );
    expect(response.body.errors).toBeUndefined();
    const list = response.body.data!.user[side];
    return {
      edges: list.edges.map((edge) => ({ cursor: edge.cursor, node: { ...edge.node, followedAt: edge.followedAt } })),
      pageInfo: list.pageInfo,
    };
  };

// Users sign up long before any follow, so a follow list showing users.created_at as followedAt shows.
const signedUpAt = (index: number) => new Date(Date.UTC(2024, 5, 1) + index * 1_000);

let subject: UserRow;
let loner: UserRow;
/** Per side, the listed users in list order with the instant each follow began. */
const lists = {} as Record<Side, { user: UserRow; followedAt: Date }[]>;

beforeAll(async () => {
  const db = server.database.db;
  const n = PAGING_SLOTS.length;
  const users = await createUsers(db, 2 * n + 2, (index) => ({ createdAt: signedUpAt(index) }));
  subject = users[0]!;
  loner = users[1]!;
  const fans = users.slice(2, 2 + n);
  const idols = users.slice(2 + n);
  const order = insertionOrder(n);
  // The k-th user created gets the slot of row order[k]: user ids do not follow the follow times.
  const followersOf = fans.map((fan, k) => ({ user: fan, followedAt: at(PAGING_SLOTS[order[k]!]!) }));
  const followingOf = idols.map((idol, k) => ({ user: idol, followedAt: at(PAGING_SLOTS[order[(k + 7) % n]!]!) }));
  await followMany(db, [
    ...followersOf.map(({ user, followedAt }) => ({ followerId: user.id, followeeId: subject.id, createdAt: followedAt })),
    ...followingOf.map(({ user, followedAt }) => ({ followerId: subject.id, followeeId: user.id, createdAt: followedAt })),
    // Follows between others, at the same instants, belong to neither list.
    ...fans.slice(0, 10).map((fan, k) => ({ followerId: fan.id, followeeId: idols[k]!.id, createdAt: at(5) })),
    ...idols.slice(0, 10).map((idol, k) => ({ followerId: idol.id, followeeId: fans[k + 1]!.id, createdAt: at(5) })),
  ]);
  lists.followers = newestFirst(followersOf, (row) => ({ at: row.followedAt, id: row.user.id }));
  lists.following = newestFirst(followingOf, (row) => ({ at: row.followedAt, id: row.user.id }));
});

describe.each(['followers', 'following'] as const)('User.%s', (side) => {
  let fixture: PagingFixture<FollowNode>;
  beforeAll(() => {
    fixture = {
      fetch: listOf(side, subject),
      expected: lists[side].map(({ user }) => user.username),
      empty: listOf(side, loner),
    };
  });

  pagingContract((user) => user.username, () => fixture);

  it('gives each edge the instant the follow began (FollowEdge.followedAt), and the node its own createdAt', async () => {
    const page = await listOf(side, subject)({ first: 100 });
    expect(page.edges.map((edge) => edge.node)).toEqual(
      lists[side].map(({ user, followedAt }) => ({
        username: user.username,
        createdAt: user.createdAt.toISOString(),
        followedAt: followedAt.toISOString(),
      })),
    );
  });

  it('keeps followedAt on backward pages', async () => {
    const page = await listOf(side, subject)({ last: 4 });
    expect(page.edges.map((edge) => edge.node.followedAt)).toEqual(
      lists[side].slice(-4).map(({ followedAt }) => followedAt.toISOString()),
    );
  });
});
