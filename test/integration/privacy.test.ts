import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransactionRow, UserRow } from '../../src/db/schema.js';
import { codesOf, globalId, withCost } from '../helpers/assertions.js';
import { addEntry, createPost, createUser, follow } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let alice: UserRow; // USD, balance 12.34 after two entries
let bob: UserRow; // JPY, balance 5000
let aliceDeposit: TransactionRow;
let bobEntry: TransactionRow;

const at = (minutes: number) => new Date(Date.UTC(2026, 0, 1, 12, minutes));

beforeAll(async () => {
  server = await startTestServer();
  const db = server.database.db;
  alice = await createUser(db, { username: 'alice', email: 'alice@example.test', currency: 'USD' });
  bob = await createUser(db, { username: 'bob', email: 'bob@example.test', currency: 'JPY' });
  aliceDeposit = await addEntry(db, alice.id, { kind: 'DEPOSIT', amount: 1500n, createdAt: at(1), description: 'salary' });
  await addEntry(db, alice.id, { kind: 'WITHDRAWAL', amount: -266n, createdAt: at(2), description: 'coffee' });
  bobEntry = await addEntry(db, bob.id, { kind: 'DEPOSIT', amount: 5000n, createdAt: at(3), description: 'gift' });
  await createPost(db, bob.id, { body: 'hello from bob', createdAt: at(4) });
  await follow(db, alice.id, bob.id);
});
afterAll(() => server.close());

const PROFILE = /* GraphQL */ `
  fragment Profile on User {
    username
    name
    email
    balance { amount currency }
    transactions(first: 10) { edges { node { kind description amount { amount currency } balanceAfter { amount currency } } } }
  }
`;

interface Profile {
  username: string;
  name: string;
  email: string | null;
  balance: { amount: string; currency: string } | null;
  transactions: { edges: { node: { kind: string; description: string; amount: { amount: string }; balanceAfter: { amount: string } } }[] } | null;
}

describe('the viewer\'s own private fields', () => {
  it('are readable, with money as exact decimal strings', async () => {
    const response = await server.graphql<{ viewer: Profile }>(`{ viewer { ...Profile } } ${PROFILE}`, { as: alice.id });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.viewer).toEqual({
      username: 'alice',
      name: alice.name,
      email: 'alice@example.test',
      balance: { amount: '12.34', currency: 'USD' },
      transactions: {
        edges: [
          { node: { kind: 'WITHDRAWAL', description: 'coffee', amount: { amount: '-2.66', currency: 'USD' }, balanceAfter: { amount: '12.34', currency: 'USD' } } },
          { node: { kind: 'DEPOSIT', description: 'salary', amount: { amount: '15.00', currency: 'USD' }, balanceAfter: { amount: '15.00', currency: 'USD' } } },
        ],
      },
    });
  });

  it('are readable through user(username:) as well as viewer', async () => {
    const response = await server.graphql<{ user: Profile }>(`{ user(username: "ALICE") { ...Profile } } ${PROFILE}`, { as: alice.id });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.user.email).toBe('alice@example.test');
    expect(response.body.data?.user.balance).toEqual({ amount: '12.34', currency: 'USD' });
  });

  it('show JPY without decimals', async () => {
    const response = await server.graphql<{ viewer: Profile }>(`{ viewer { ...Profile } } ${PROFILE}`, { as: bob.id });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.viewer.balance).toEqual({ amount: '5000', currency: 'JPY' });
    expect(response.body.data?.viewer.transactions?.edges[0]?.node.amount).toEqual({ amount: '5000', currency: 'JPY' });
  });

  it('include the viewer\'s own ledger entry by global ID', async () => {
    const response = await server.graphql(`{ node(id: "${globalId('Transaction', aliceDeposit.id)}") { ... on Transaction { description } } }`, { as: alice.id });
    expect(response.body).toEqual(withCost({ data: { node: { description: 'salary' } } }));
  });
});

describe('another user\'s private fields', () => {
  it('are null with a FORBIDDEN error at each field; the public fields still come back', async () => {
    const response = await server.graphql<{ user: Profile }>(`{ user(username: "bob") { ...Profile } } ${PROFILE}`, { as: alice.id });
    expect(response.status).toBe(200);
    expect(response.body.data?.user).toEqual({ username: 'bob', name: bob.name, email: null, balance: null, transactions: null });
    const errors = response.body.errors ?? [];
    expect(errors.map((error) => error.path).sort()).toEqual([['user', 'balance'], ['user', 'email'], ['user', 'transactions']]);
    expect(codesOf(response.body)).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    expect(JSON.stringify(response.body)).not.toContain('bob@example.test');
  });

  it('stay private when reached through other paths: node, posts → author, follows, feed', async () => {
    const response = await server.graphql<{
      node: { username: string; email: string | null };
      posts: { edges: { node: { author: { username: string; email: string | null; balance: unknown } } }[] };
      viewer: { following: { edges: { node: { username: string; email: string | null } }[] } };
      feed: { edges: { node: { author: { email: string | null } } }[] };
    }>(
      `{
        node(id: "${globalId('User', bob.id)}") { ... on User { username email } }
        posts(first: 1) { edges { node { author { username email balance { amount } } } } }
        viewer { following { edges { node { username email } } } }
        feed(first: 1) { edges { node { author { email } } } }
      }`,
      { as: alice.id },
    );
    const data = response.body.data!;
    expect(data.node).toEqual({ username: 'bob', email: null });
    expect(data.posts.edges[0]!.node.author).toEqual({ username: 'bob', email: null, balance: null });
    expect(data.viewer.following.edges[0]!.node).toEqual({ username: 'bob', email: null });
    expect(data.feed.edges[0]!.node.author).toEqual({ email: null });
    expect(codesOf(response.body)).toEqual(Array(5).fill('FORBIDDEN'));
    expect((response.body.errors ?? []).map((error) => error.path?.join('.')).sort()).toEqual([
      'feed.edges.0.node.author.email',
      'node.email',
      'posts.edges.0.node.author.balance',
      'posts.edges.0.node.author.email',
      'viewer.following.edges.0.node.email',
    ]);
    expect(JSON.stringify(response.body)).not.toContain('bob@example.test');
  });

  it('stay private on the counterparty of a transfer', async () => {
    const db = server.database.db;
    const dave = await createUser(db, { username: 'dave', email: 'dave@example.test' });
    const erin = await createUser(db, { username: 'erin' });
    await addEntry(db, dave.id, { kind: 'DEPOSIT', amount: 1000n, createdAt: at(10) });
    await addEntry(db, dave.id, { kind: 'TRANSFER_OUT', amount: -250n, createdAt: at(11), counterpartyId: erin.id, transferId: 1 });
    await addEntry(db, erin.id, { kind: 'TRANSFER_IN', amount: 250n, createdAt: at(11), counterpartyId: dave.id, transferId: 1 });
    const response = await server.graphql<{ viewer: { transactions: { edges: { node: unknown }[] } } }>(
      '{ viewer { transactions { edges { node { kind amount { amount } counterparty { username email balance { amount } } } } } } }',
      { as: erin.id },
    );
    expect(response.body.data?.viewer.transactions.edges).toEqual([
      { node: { kind: 'TRANSFER_IN', amount: { amount: '2.50' }, counterparty: { username: 'dave', email: null, balance: null } } },
    ]);
    expect(codesOf(response.body)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    expect(JSON.stringify(response.body)).not.toContain('dave@example.test');
  });

  it('include their ledger entries: another user\'s entry by global ID is null, as if absent', async () => {
    const id = globalId('Transaction', bobEntry.id);
    const response = await server.graphql(`{ node(id: "${id}") { id } nodes(ids: ["${id}"]) { id } }`, { as: alice.id });
    expect(response.body).toEqual(withCost({ data: { node: null, nodes: [null] } }));
  });
});

describe('an anonymous client', () => {
  it('gets UNAUTHENTICATED (not FORBIDDEN) for private fields, with HTTP 200 and the public fields', async () => {
    const response = await server.graphql<{ user: Profile }>(`{ user(username: "alice") { ...Profile } } ${PROFILE}`);
    expect(response.status).toBe(200);
    expect(response.body.data?.user).toEqual({ username: 'alice', name: alice.name, email: null, balance: null, transactions: null });
    expect(codesOf(response.body)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expect((response.body.errors ?? []).map((error) => error.path?.join('.')).sort()).toEqual(['user.balance', 'user.email', 'user.transactions']);
  });

  it('gets UNAUTHENTICATED for feed, with HTTP 200 and the rest of the query answered', async () => {
    const response = await server.graphql<{ feed: null; viewer: null; posts: { edges: unknown[] } }>(
      '{ feed { edges { cursor } } viewer { id } posts(first: 1) { edges { node { body } } } }',
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ feed: null, viewer: null, posts: { edges: [{ node: { body: 'hello from bob' } }] } });
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors![0]).toMatchObject({ path: ['feed'], extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('gets HTTP 200 with UNAUTHENTICATED under application/graphql-response+json too (the request itself is valid)', async () => {
    const response = await server.graphql('{ feed { edges { cursor } } }', { headers: { accept: 'application/graphql-response+json' } });
    expect(response.status).toBe(200);
    expect(codesOf(response.body)).toEqual(['UNAUTHENTICATED']);
  });

  it('cannot read any ledger entry by global ID', async () => {
    const response = await server.graphql(`{ node(id: "${globalId('Transaction', aliceDeposit.id)}") { id } }`);
    expect(response.body).toEqual(withCost({ data: { node: null } }));
  });
});
