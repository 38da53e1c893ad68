import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/client.js';
import type { UserRow } from '../../src/db/schema.js';
import { codesOf, withCost } from '../helpers/assertions.js';
import { addEntry, createPost, createUser, follow } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DROP_USERS, INJECTION_PAYLOADS } from '../helpers/injection.js';


let server: TestServer;
let victim: UserRow;
const injected: UserRow[] = [];

/** Every table of the schema with its row count, read straight from the database. */
async function tableCounts(): Promise<Record<string, number>> {
  const db = server.database.db;
  const tables = rowsOf<{ table_name: string }>(
    await db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`),
  ).map((row) => row.table_name);
  const counts: Record<string, number> = {};
  for (const table of ['users', 'posts', 'follows', 'accounts', 'transactions']) {
    if (!tables.includes(table)) continue;
    const [row] = rowsOf<{ count: string | number }>(await db.execute(sql`select count(*) as count from ${sql.identifier(table)}`));
    counts[table] = Number(row!.count);
  }
  return counts;
}

const EXPECTED = () => ({ users: INJECTION_PAYLOADS.length + 1, posts: INJECTION_PAYLOADS.length, follows: INJECTION_PAYLOADS.length, accounts: INJECTION_PAYLOADS.length + 1, transactions: 1 });

beforeAll(async () => {
  server = await startTestServer();
  const db = server.database.db;
  victim = await createUser(db, { username: 'victim', balance: 0n });
  await addEntry(db, victim.id, { kind: 'DEPOSIT', amount: 4200n });
  for (const [i, payload] of INJECTION_PAYLOADS.entries()) {
    const user = await createUser(db, { username: payload, name: payload, email: `injected${i}@example.test` });
    injected.push(user);
    await createPost(db, user.id, { body: payload });
    await follow(db, user.id, victim.id);
  }
});
afterAll(() => server.close());

const BY_USERNAME = /* GraphQL */ `
  query ByUsername($username: String) {
    user(username: $username) { username name posts { edges { node { body } } } }
  }
`;

describe('injection payloads are plain data', () => {
  it('(control: every table is there with the rows the factories wrote)', async () => {
    expect(await tableCounts()).toEqual(EXPECTED());
  });

  it.each(INJECTION_PAYLOADS)('%j round-trips verbatim as a GraphQL variable', async (payload) => {
    const response = await server.graphql(BY_USERNAME, { variables: { username: payload } });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({ user: { username: payload, name: payload, posts: { edges: [{ node: { body: payload } }] } } });
  });

  it.each(INJECTION_PAYLOADS)('%j round-trips verbatim as an inline string literal', async (payload) => {
    // JSON string syntax is a subset of GraphQL string syntax: this is the literal a client would write.
    const query = `{ user(username: ${JSON.stringify(payload)}) { username name posts { edges { node { body } } } } }`;
    const response = await server.graphql(query);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({ user: { username: payload, name: payload, posts: { edges: [{ node: { body: payload } }] } } });
  });

  it('matches usernames exactly (case aside): no SQL wildcards, no tautologies', async () => {
    for (const probe of ["' OR '1'='1", "' OR 1=1 --", '%', '_', 'vict%', 'v_ctim', '*', "victim' --", 'victim\\']) {
      const response = await server.graphql(BY_USERNAME, { variables: { username: probe } });
      expect(response.body, probe).toEqual(withCost({ data: { user: null } }));
    }
    const upper = await server.graphql(BY_USERNAME, { variables: { username: DROP_USERS.toUpperCase() } });
    expect(upper.body.data).toMatchObject({ user: { username: DROP_USERS } });
  });

  it('appears verbatim in lists too: the public posts and the victim\'s followers', async () => {
    const response = await server.graphql<{
      posts: { edges: { node: { body: string; author: { username: string } } }[] };
      user: { followers: { edges: { node: { username: string } }[] } };
    }>('{ posts(first: 100) { edges { node { body author { username } } } } user(username: "victim") { followers(first: 100) { edges { node { username } } } } }');
    expect(response.body.errors).toBeUndefined();
    const posts = response.body.data!.posts.edges.map((edge) => edge.node);
    expect(posts.map((post) => post.body).sort()).toEqual([...INJECTION_PAYLOADS].sort());
    for (const post of posts) expect(post.author.username).toBe(post.body);
    expect(response.body.data!.user.followers.edges.map((edge) => edge.node.username).sort()).toEqual([...INJECTION_PAYLOADS].sort());
  });

  it('in a cursor is a BAD_USER_INPUT error, not SQL', async () => {
    const response = await server.graphql(`{ posts(first: 1, after: ${JSON.stringify(DROP_USERS)}) { edges { cursor } } }`);
    expect(codesOf(response.body)).toEqual(['BAD_USER_INPUT']);
  });

  const FORGED_ID = Buffer.from(`User:1; DROP TABLE users;--`).toString('base64');

  it('in a global ID passed to node/nodes is a BAD_USER_INPUT error, not SQL', async () => {
    const response = await server.graphql(`{ node(id: "${FORGED_ID}") { id } }`);
    expect(codesOf(response.body)).toEqual(['BAD_USER_INPUT']);
    const many = await server.graphql(`{ nodes(ids: ["${FORGED_ID}"]) { id } }`);
    expect(codesOf(many.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('in a global ID passed to user(id:) is a BAD_USER_INPUT error, not SQL', async () => {
    const response = await server.graphql(`{ user(id: "${FORGED_ID}") { username } }`);
    expect(response.body.data).toEqual({ user: null });
    expect(codesOf(response.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('leave every table in place with the expected rows, and no balance changed', async () => {
    expect(await tableCounts()).toEqual(EXPECTED());
    const response = await server.graphql<{ viewer: { balance: { amount: string } } }>('{ viewer { balance { amount } } }', { as: victim.id });
    expect(response.body.data?.viewer.balance.amount).toBe('42.00');
    const [row] = rowsOf<{ total: string }>(await server.database.db.execute(sql`select sum(balance)::text as total from accounts`));
    expect(row!.total).toBe('4200');
  });
});
