/**
 * The Node interface: node(id) and nodes(ids) for every type, in order, null where nothing is visible, and
 * Query.user by username (case-insensitive) or ID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEntry, createPost, createUser } from '../helpers/factories.js';
import { codesOf, globalId, withCost } from '../helpers/assertions.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { PostRow, TransactionRow, UserRow } from '../../src/db/schema.js';

let server: TestServer;
let alice: UserRow;
let bob: UserRow;
let post: PostRow;
let aliceEntry: TransactionRow;
let bobEntry: TransactionRow;

beforeAll(async () => {
  server = await startTestServer();
  const db = server.database.db;
  alice = await createUser(db, { username: 'Alice', name: 'Alice Liddell' });
  bob = await createUser(db, { username: 'bob', name: 'Bob' });
  post = await createPost(db, alice.id, { body: 'Down the rabbit hole' });
  aliceEntry = await addEntry(db, alice.id, { kind: 'DEPOSIT', amount: 1_234n, description: 'pocket money' });
  bobEntry = await addEntry(db, bob.id, { kind: 'DEPOSIT', amount: 500n, description: 'wages' });
});
afterAll(() => server.close());

const NODE_FIELDS = /* GraphQL */ `
  __typename
  id
  ... on User { username name }
  ... on Post { body author { username } }
  ... on Transaction { kind description amount { amount currency } }
`;
const NODE = `query($id: ID!) { node(id: $id) { ${NODE_FIELDS} } }`;
const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { ${NODE_FIELDS} } }`;

const asUser = (user: UserRow) => ({ __typename: 'User', id: globalId('User', user.id), username: user.username, name: user.name });
const asPost = () => ({ __typename: 'Post', id: globalId('Post', post.id), body: 'Down the rabbit hole', author: { username: 'Alice' } });
const asEntry = (entry: TransactionRow, amount: string) => ({
  __typename: 'Transaction',
  id: globalId('Transaction', entry.id),
  kind: 'DEPOSIT',
  description: entry.description,
  amount: { amount, currency: 'USD' },
});

describe('node(id:)', () => {
  it('uses the global IDs the server hands out', async () => {
    const response = await server.graphql<{ posts: { edges: { node: { id: string; author: { id: string } } }[] } }>(
      '{ posts(first: 1) { edges { node { id author { id } } } } }',
    );
    expect(response.body.data!.posts.edges[0]!.node).toEqual({ id: globalId('Post', post.id), author: { id: globalId('User', alice.id) } });
  });

  it('returns a User', async () => {
    const response = await server.graphql(NODE, { variables: { id: globalId('User', alice.id) } });
    expect(response.body).toEqual(withCost({ data: { node: asUser(alice) } }));
  });

  it('returns a Post', async () => {
    const response = await server.graphql(NODE, { variables: { id: globalId('Post', post.id) } });
    expect(response.body).toEqual(withCost({ data: { node: asPost() } }));
  });

  it('returns a Transaction to its owner', async () => {
    const response = await server.graphql(NODE, { variables: { id: globalId('Transaction', aliceEntry.id) }, as: alice.id });
    expect(response.body).toEqual(withCost({ data: { node: asEntry(aliceEntry, '12.34') } }));
  });

  it('returns null for a Transaction of another user, and to an anonymous client', async () => {
    const id = globalId('Transaction', aliceEntry.id);
    expect((await server.graphql(NODE, { variables: { id }, as: bob.id })).body).toEqual(withCost({ data: { node: null } }));
    expect((await server.graphql(NODE, { variables: { id } })).body).toEqual(withCost({ data: { node: null } }));
  });

  it.each(['User', 'Post', 'Transaction'])('returns null for a %s that does not exist', async (typename) => {
    const response = await server.graphql(NODE, { variables: { id: globalId(typename, 987_654) }, as: alice.id });
    expect(response.body).toEqual(withCost({ data: { node: null } }));
  });
});

describe('nodes(ids:)', () => {
  it('returns every type in the order asked, repeats included, null for what does not exist', async () => {
    const ids = [
      globalId('Transaction', aliceEntry.id),
      globalId('User', 987_654),
      globalId('Post', post.id),
      globalId('User', bob.id),
      globalId('Post', 987_654),
      globalId('User', alice.id),
      globalId('Transaction', 987_654),
      globalId('User', bob.id),
    ];
    const response = await server.graphql(NODES, { variables: { ids }, as: alice.id });
    expect(response.body).toEqual(
      withCost({ data: { nodes: [asEntry(aliceEntry, '12.34'), null, asPost(), asUser(bob), null, asUser(alice), null, asUser(bob)] } }),
    );
  });

  it('gives null for the Transactions of other users, and keeps the viewer\'s own', async () => {
    const ids = [globalId('Transaction', aliceEntry.id), globalId('Transaction', bobEntry.id)];
    expect((await server.graphql(NODES, { variables: { ids }, as: bob.id })).body).toEqual(
      withCost({ data: { nodes: [null, asEntry(bobEntry, '5.00')] } }),
    );
    expect((await server.graphql(NODES, { variables: { ids }, as: alice.id })).body).toEqual(
      withCost({ data: { nodes: [asEntry(aliceEntry, '12.34'), null] } }),
    );
    expect((await server.graphql(NODES, { variables: { ids } })).body).toEqual(withCost({ data: { nodes: [null, null] } }));
  });

  it('answers an empty list with an empty list', async () => {
    expect((await server.graphql(NODES, { variables: { ids: [] } })).body).toEqual(withCost({ data: { nodes: [] } }));
  });
});

describe('nodes(ids:) through many aliases', () => {
  it('looks up more ids than PostgreSQL takes bind parameters (65,535) without an internal error', async () => {
    // 701 aliases of 100 IDs each, all distinct: one loader, 70,100 keys. A statement with one parameter per id
    // cannot be sent at all; the loader sends batches of at most 1,000 ids, each as one array parameter.
    const aliases = 701;
    const ids = (alias: number) => Array.from({ length: 100 }, (_, i) => alias * 100 + i + 1);
    const variables = Object.fromEntries(
      Array.from({ length: aliases }, (_, alias) => [`i${alias}`, ids(alias).map((id) => globalId('User', id))]),
    );
    const query = `query (${Object.keys(variables).map((name) => `$${name}: [ID!]!`).join(', ')}) {
      ${Object.keys(variables).map((name) => `${name}: nodes(ids: $${name}) { id }`).join('\n')}
    }`;
    server.statements.reset();
    const response = await server.graphql<Record<string, ({ id: string } | null)[]>>(query, { variables });

    // A limit on request size or aliases may refuse such a request (a 4xx); what it must never be is a 500.
    expect(response.status).toBeLessThan(500);
    expect(codesOf(response.body)).not.toContain('INTERNAL_SERVER_ERROR');
    if (response.status !== 200 || response.body.errors) return;
    const data = response.body.data!;
    expect(Object.keys(data)).toHaveLength(aliases);
    for (const [name, list] of Object.entries(data)) {
      const alias = Number(name.slice(1));
      expect(list).toEqual(ids(alias).map((id) => (id === alice.id || id === bob.id ? { id: globalId('User', id) } : null)));
    }
    // Batched (not a statement per id), and split: at least ceil(70,100 / 1,000) statements.
    expect(server.statements.count).toBeGreaterThanOrEqual(71);
    expect(server.statements.count).toBeLessThanOrEqual(80);
  });
});

describe('user', () => {
  const USER = `query($id: ID, $username: String) { user(id: $id, username: $username) { id username name } }`;
  const found = (user: UserRow) => withCost({ data: { user: { id: globalId('User', user.id), username: user.username, name: user.name } } });

  it.each(['Alice', 'alice', 'ALICE', 'aLiCe'])('finds by username regardless of case: %s', async (username) => {
    expect((await server.graphql(USER, { variables: { username } })).body).toEqual(found(alice));
  });

  it('keeps the username as it was written', async () => {
    expect((await server.graphql(USER, { variables: { username: 'BOB' } })).body).toEqual(found(bob));
  });

  it('returns null for a username no one has, including a prefix of one and one too long to exist', async () => {
    for (const username of ['carol', 'Alic', 'Alice ', 'a'.repeat(500)]) {
      expect((await server.graphql(USER, { variables: { username } })).body).toEqual(withCost({ data: { user: null } }));
    }
  });

  it('finds by global ID, and returns null for an ID no user has', async () => {
    expect((await server.graphql(USER, { variables: { id: globalId('User', bob.id) } })).body).toEqual(found(bob));
    expect((await server.graphql(USER, { variables: { id: globalId('User', 987_654) } })).body).toEqual(withCost({ data: { user: null } }));
  });

  it('does not treat LIKE wildcards in a username as patterns', async () => {
    for (const username of ['%', 'A_ice', '_lice']) {
      expect((await server.graphql(USER, { variables: { username } })).body).toEqual(withCost({ data: { user: null } }));
    }
  });
});
