/**
 * SQL statements per request: a fixed number whatever the page size, so an N+1 fails the build. Every
 * connection is asked for a page of 5 and full pages of 100 (forward and backward) over more than 100 rows;
 * nested connections on a list of users are batched into one statement per level by the lateral page loaders.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEntry, createPosts, createUsers, followMany } from '../helpers/factories.js';
import { globalId } from '../helpers/assertions.js';
import { at, PAGE_ARGUMENTS, PAGE_VARIABLES, type PageArgs } from '../helpers/paging.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { PostRow, TransactionRow, UserRow } from '../../src/db/schema.js';

let server: TestServer;
/** Follows every fan and is followed by every fan; wrote 101 posts; has 101 ledger entries. */
let subject: UserRow;
let fans: UserRow[];
let fanPosts: PostRow[];
let entries: TransactionRow[];

const FANS = 101;

beforeAll(async () => {
  // The pages here are as large as a connection allows, nested: what they cost in SQL is the point, not their
  // price in points (which passes MAX_COST's default; test/integration/operation-limits.test.ts refuses those).
  // Without the user cache: these count what a request costs PostgreSQL when nothing is kept (its N+1 guard);
  // test/integration/user-cache.test.ts counts what the cache saves.
  server = await startTestServer({ MAX_COST: '100000', USER_CACHE_TTL_SECONDS: '0' });
  const db = server.database.db;
  const users = await createUsers(db, FANS + 1);
  subject = users[0]!;
  fans = users.slice(1);
  await followMany(db, [
    ...fans.map((fan, i) => ({ followerId: fan.id, followeeId: subject.id, createdAt: at(i) })),
    ...fans.map((fan, i) => ({ followerId: subject.id, followeeId: fan.id, createdAt: at(i % 7) })),
  ]);
  // 1 to 3 posts per fan: 202 in the feed; the subject's own 101 are in Query.posts but not in the feed.
  fanPosts = await createPosts(
    db,
    fans.flatMap((fan, i) => Array.from({ length: 1 + (i % 3) }, (_, k) => ({ authorId: fan.id, body: `fan ${i}.${k}`, createdAt: at(i + k) }))),
  );
  await createPosts(
    db,
    Array.from({ length: 101 }, (_, i) => ({ authorId: subject.id, body: `subject ${i}`, createdAt: at(i % 40) })),
  );
  // An opening deposit, then a transfer in from each of 100 fans: 100 distinct counterparties.
  entries = [await addEntry(db, subject.id, { kind: 'DEPOSIT', amount: 10_000n, createdAt: at(200) })];
  for (const [i, fan] of fans.slice(0, 100).entries()) {
    entries.push(
      await addEntry(db, subject.id, { kind: 'TRANSFER_IN', amount: 100n, createdAt: at(i % 50), counterpartyId: fan.id, transferId: i + 1 }),
    );
  }
});
afterAll(() => server.close());

/** Runs one request and returns its statement count, failing (with the SQL log) on GraphQL errors. */
async function statementsOf<T>(query: string, options: { variables?: Record<string, unknown>; as?: number }, check: (data: T) => void) {
  server.statements.reset();
  const response = await server.graphql<T>(query, options);
  const count = server.statements.count;
  expect(response.body.errors).toBeUndefined();
  check(response.body.data!);
  return { count, log: server.statements.log };
}

interface Case {
  readonly name: string;
  /** The statements a page costs, whatever its size. */
  readonly statements: number;
  readonly why: string;
  readonly query: string;
  readonly as?: () => number;
  readonly variables?: () => Record<string, unknown>;
  readonly edgesOf: (data: never) => { node: unknown }[];
}

type Data<K extends string, V> = Record<K, V>;
type Edges<N> = { edges: { node: N }[] };

const CASES: readonly Case[] = [
  {
    name: 'Query.posts',
    statements: 1,
    why: 'the page alone: no author asked for, none joined',
    query: `query(${PAGE_VARIABLES}) { posts(${PAGE_ARGUMENTS}) { edges { node { body } } } }`,
    edgesOf: (data: Data<'posts', Edges<unknown>>) => data.posts.edges,
  },
  {
    name: 'Query.posts with each author',
    statements: 1,
    why: 'the page with its authors joined in (lookahead), which primes the user loader',
    query: `query(${PAGE_VARIABLES}) { posts(${PAGE_ARGUMENTS}) { edges { node { body author { name } } } } }`,
    edgesOf: (data: Data<'posts', Edges<unknown>>) => data.posts.edges,
  },
  {
    name: 'Query.posts with each author, asked for through an aliased field in fragments',
    statements: 1,
    why: 'the lookahead follows fragment spreads, inline fragments and aliases',
    query: `query(${PAGE_VARIABLES}) { posts(${PAGE_ARGUMENTS}) { edges { ...Edge } } }
      fragment Edge on PostEdge { node { ... on Post { body writer: author { name } } } }`,
    edgesOf: (data: Data<'posts', Edges<unknown>>) => data.posts.edges,
  },
  {
    name: 'Query.feed',
    statements: 1,
    why: 'the merged page of the followees\' posts',
    query: `query(${PAGE_VARIABLES}) { feed(${PAGE_ARGUMENTS}) { edges { node { body } } } }`,
    as: () => subject.id,
    edgesOf: (data: Data<'feed', Edges<unknown>>) => data.feed.edges,
  },
  {
    name: 'Query.feed with each author',
    statements: 1,
    why: 'the merged page of the followees\' posts with their authors joined in',
    query: `query(${PAGE_VARIABLES}) { feed(${PAGE_ARGUMENTS}) { edges { node { body author { name } } } } }`,
    as: () => subject.id,
    edgesOf: (data: Data<'feed', Edges<unknown>>) => data.feed.edges,
  },
  {
    name: 'User.posts with each author',
    statements: 2,
    why: 'the user by username (which primes the user loader, so the author costs nothing), then the page',
    query: `query($username: String!, ${PAGE_VARIABLES}) { user(username: $username) { posts(${PAGE_ARGUMENTS}) { edges { node { body author { name } } } } } }`,
    variables: () => ({ username: subject.username }),
    edgesOf: (data: Data<'user', Data<'posts', Edges<unknown>>>) => data.user.posts.edges,
  },
  {
    name: 'User.followers',
    statements: 2,
    why: 'the user, then the page (users joined to follows)',
    query: `query($username: String!, ${PAGE_VARIABLES}) { user(username: $username) { followers(${PAGE_ARGUMENTS}) { edges { followedAt node { name } } } } }`,
    variables: () => ({ username: subject.username }),
    edgesOf: (data: Data<'user', Data<'followers', Edges<unknown>>>) => data.user.followers.edges,
  },
  {
    name: 'User.following',
    statements: 2,
    why: 'the user, then the page (users joined to follows)',
    query: `query($username: String!, ${PAGE_VARIABLES}) { user(username: $username) { following(${PAGE_ARGUMENTS}) { edges { followedAt node { name } } } } }`,
    variables: () => ({ username: subject.username }),
    edgesOf: (data: Data<'user', Data<'following', Edges<unknown>>>) => data.user.following.edges,
  },
  {
    name: 'User.transactions with each counterparty',
    statements: 3,
    why: 'the viewer, the page, then one batch of counterparties',
    query: `query(${PAGE_VARIABLES}) { viewer { transactions(${PAGE_ARGUMENTS}) { edges { node { amount { amount } counterparty { name } } } } } }`,
    as: () => subject.id,
    edgesOf: (data: Data<'viewer', Data<'transactions', Edges<unknown>>>) => data.viewer.transactions.edges,
  },
];

const PAGES: readonly PageArgs[] = [{ first: 5 }, { first: 100 }, { last: 100 }, {}];

describe.each(CASES)('$name', (testCase) => {
  it(`costs ${testCase.statements} statements a page (${testCase.why}), for pages of 5, 100 both ways and the default 20`, async () => {
    const counts = [];
    const logs = [];
    for (const page of PAGES) {
      const { count, log } = await statementsOf(
        testCase.query,
        { variables: { ...testCase.variables?.(), ...page }, ...(testCase.as ? { as: testCase.as() } : {}) },
        (data) => expect(testCase.edgesOf(data as never)).toHaveLength(page.first ?? page.last ?? 20),
      );
      counts.push(count);
      logs.push(log);
    }
    // On failure, the message lists the SQL each request ran.
    expect(counts, JSON.stringify(logs, null, 1)).toEqual(PAGES.map(() => testCase.statements));
  });
});

describe('nested connections on a page of users', () => {
  const NESTED = /* GraphQL */ `
    query Nested($username: String!, $first: Int) {
      user(username: $username) {
        followers(first: $first) {
          edges { node { name posts(first: 3) { edges { node { body author { name } } } } } }
        }
      }
    }
  `;
  type Nested = { user: { followers: Edges<{ name: string; posts: Edges<{ body: string; author: { name: string } }> }> } };

  it('costs 4 statements however many followers: the user, the followers, their posts, the posts\' authors', async () => {
    const counts = [];
    for (const first of [5, 40, 100]) {
      const { count, log } = await statementsOf<Nested>(NESTED, { variables: { username: subject.username, first } }, (data) => {
        const followers = data.user.followers.edges;
        expect(followers).toHaveLength(first);
        // Each follower's own posts, written by them: the batched pages are handed to the right parent.
        for (const { node } of followers) {
          expect(node.posts.edges.length).toBeGreaterThanOrEqual(1);
          for (const { node: fanPost } of node.posts.edges) expect(fanPost.author.name).toBe(node.name);
        }
      });
      counts.push({ first, count, log: count === 4 ? [] : log });
    }
    expect(counts).toEqual([5, 40, 100].map((first) => ({ first, count: 4, log: [] })));
  });

  it('costs 4 statements for a list of users each with followers and following', async () => {
    const query = /* GraphQL */ `
      query Lists($ids: [ID!]!) {
        nodes(ids: $ids) {
          ... on User {
            followers(first: 2) { edges { node { name } } }
            following(first: 2) { edges { node { name } } }
            posts(first: 2) { edges { node { body } } }
          }
        }
      }
    `;
    const counts = [];
    for (const size of [3, 60]) {
      const ids = fans.slice(0, size).map((fan) => globalId('User', fan.id));
      const { count } = await statementsOf<{ nodes: unknown[] }>(query, { variables: { ids } }, (data) => expect(data.nodes).toHaveLength(size));
      counts.push(count);
    }
    // The users, then one statement each for the followers, following and posts of all of them.
    expect(counts).toEqual([4, 4]);
  });
});

describe('node and nodes', () => {
  const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on User { name } ... on Post { body } ... on Transaction { kind } } }`;
  const NODE = `query($id: ID!) { node(id: $id) { id } }`;

  it('costs 1 statement for node(id), of each type', async () => {
    const ids = [globalId('User', fans[0]!.id), globalId('Post', fanPosts[0]!.id), globalId('Transaction', entries[0]!.id)];
    const counts = [];
    for (const id of ids) {
      const { count } = await statementsOf<{ node: unknown }>(NODE, { variables: { id }, as: subject.id }, (data) => expect(data.node).not.toBeNull());
      counts.push(count);
    }
    expect(counts).toEqual([1, 1, 1]);
  });

  it.each([
    ['User', () => fans.map((fan) => fan.id)],
    ['Post', () => fanPosts.map((fanPost) => fanPost.id)],
    ['Transaction', () => entries.map((entry) => entry.id)],
  ])('costs 1 statement for nodes(ids) of 2 or of 60 %ss', async (typename, rowIds) => {
    const counts = [];
    for (const size of [2, 60]) {
      const ids = rowIds().slice(0, size).map((id) => globalId(typename, id));
      const { count } = await statementsOf<{ nodes: unknown[] }>(NODES, { variables: { ids }, as: subject.id }, (data) => {
        expect(data.nodes).toHaveLength(size);
        expect(data.nodes).not.toContain(null);
      });
      counts.push(count);
    }
    expect(counts).toEqual([1, 1]);
  });

  it('costs 1 statement per type for nodes(ids) mixing Users, Posts and Transactions', async () => {
    const ids = [0, 1, 2, 3, 4].flatMap((i) => [
      globalId('User', fans[i]!.id),
      globalId('Post', fanPosts[i]!.id),
      globalId('Transaction', entries[i]!.id),
    ]);
    const { count } = await statementsOf<{ nodes: unknown[] }>(NODES, { variables: { ids }, as: subject.id }, (data) => {
      expect(data.nodes).toHaveLength(15);
      expect(data.nodes).not.toContain(null);
    });
    expect(count).toBe(3);
  });
});
