/**
 * Bad arguments: each is one GraphQL error with extensions.code BAD_USER_INPUT and a message that says what is
 * wrong; the HTTP status stays 200 (the request is well-formed, `accept: application/json`), nothing is masked as
 * an internal error and no stack trace leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEntry, createPost, createUser, follow } from '../helpers/factories.js';
import { globalId, withCost } from '../helpers/assertions.js';
import { PAGE_ARGUMENTS, PAGE_VARIABLES, type PageArgs } from '../helpers/paging.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';
import type { PostRow, UserRow } from '../../src/db/schema.js';

let server: TestServer;
let writer: UserRow;
let reader: UserRow;
let post: PostRow;

beforeAll(async () => {
  server = await startTestServer();
  const db = server.database.db;
  // Each connection below holds one row, so each has a real cursor to misuse.
  writer = await createUser(db, { username: 'writer' });
  reader = await createUser(db, { username: 'reader' });
  await follow(db, reader.id, writer.id);
  post = await createPost(db, writer.id, { body: 'the only post' });
  await addEntry(db, reader.id, { kind: 'DEPOSIT', amount: 1_000n });
});
afterAll(() => server.close());

function expectNoStackTrace(body: unknown) {
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/\bat \S+ \(|node_modules|\.[jt]s:\d+|"stack"|originalError/);
}

function expectBadInput(response: GraphQLResponse, ...patterns: RegExp[]) {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.body.errors).toHaveLength(1);
  const error = response.body.errors![0]!;
  expect(error.extensions?.['code']).toBe('BAD_USER_INPUT');
  for (const pattern of patterns) expect(error.message).toMatch(pattern);
  expectNoStackTrace(response.body);
}

interface Target {
  /** The connection's name, as its cursors and its errors spell it. */
  readonly connection: string;
  readonly query: string;
  readonly as?: () => number;
  /** Where the connection sits in `data`. */
  readonly path: readonly string[];
}

const TARGETS: readonly Target[] = [
  {
    connection: 'posts',
    query: `query(${PAGE_VARIABLES}) { posts(${PAGE_ARGUMENTS}) { edges { cursor } } }`,
    path: ['posts'],
  },
  {
    connection: 'feed',
    query: `query(${PAGE_VARIABLES}) { feed(${PAGE_ARGUMENTS}) { edges { cursor } } }`,
    as: () => reader.id,
    path: ['feed'],
  },
  {
    connection: 'User.posts',
    query: `query(${PAGE_VARIABLES}) { user(username: "writer") { posts(${PAGE_ARGUMENTS}) { edges { cursor } } } }`,
    path: ['user', 'posts'],
  },
  {
    connection: 'User.followers',
    query: `query(${PAGE_VARIABLES}) { user(username: "writer") { followers(${PAGE_ARGUMENTS}) { edges { cursor } } } }`,
    path: ['user', 'followers'],
  },
  {
    connection: 'User.following',
    query: `query(${PAGE_VARIABLES}) { user(username: "reader") { following(${PAGE_ARGUMENTS}) { edges { cursor } } } }`,
    path: ['user', 'following'],
  },
  {
    connection: 'User.transactions',
    query: `query(${PAGE_VARIABLES}) { viewer { transactions(${PAGE_ARGUMENTS}) { edges { cursor } } } }`,
    as: () => reader.id,
    path: ['viewer', 'transactions'],
  },
];

const request = (target: Target, args: PageArgs | Record<string, unknown>) =>
  server.graphql(target.query, { variables: { ...args }, ...(target.as ? { as: target.as() } : {}) });

const connectionIn = (target: Target, data: unknown) =>
  target.path.reduce((value, key) => (value as Record<string, unknown>)[key], data) as { edges: { cursor: string }[] };

async function cursorOf(target: Target): Promise<string> {
  const response = await request(target, { first: 1 });
  expect(response.body.errors).toBeUndefined();
  const cursor = connectionIn(target, response.body.data).edges[0]?.cursor;
  expect(cursor).toEqual(expect.any(String));
  return cursor!;
}

const base64url = (text: string | Buffer) => Buffer.from(text).toString('base64url');

const MALFORMED_CURSORS: readonly [string, (connection: string) => string][] = [
  ['a random string', () => 'not a cursor!'],
  ['an empty string', () => ''],
  ['an empty string with spaces', () => '   '],
  ['base64 of random bytes', () => base64url(Buffer.from([0x8f, 0x00, 0xff, 0x13, 0x37, 0xc3, 0x28, 0xa0]))],
  ['base64 of text that is not JSON', () => base64url('hello, world')],
  ['base64 of a JSON object', () => base64url('{"id":1,"at":0}')],
  ['base64 of a JSON array one element short', (connection) => base64url(JSON.stringify([connection, 1_700_000_000_000]))],
  ['base64 of a JSON array with a text timestamp', (connection) => base64url(JSON.stringify([connection, '2026-01-01T00:00:00Z', 1]))],
  ['base64 of a JSON array with id 0', (connection) => base64url(JSON.stringify([connection, 1_700_000_000_000, 0]))],
  ['base64 of a JSON array with a fractional id', (connection) => base64url(JSON.stringify([connection, 1_700_000_000_000, 1.5]))],
  ['an oversized cursor', (connection) => base64url(JSON.stringify([connection, 1_700_000_000_000, 1, 'x'.repeat(300)]))],
];

describe.each(TARGETS)('$connection', (target) => {
  it('accepts its own cursor as after and as before (the control for the cases below)', async () => {
    const cursor = await cursorOf(target);
    for (const args of [{ after: cursor }, { last: 5, before: cursor }]) {
      const response = await request(target, args);
      expect(response.body.errors).toBeUndefined();
      expect(connectionIn(target, response.body.data).edges).toEqual([]);
    }
  });

  it('rejects first: 101, naming the maximum of 100', async () => {
    expectBadInput(await request(target, { first: 101 }), /"first"/, /\b101\b/, /maximum page size of 100\b/);
  });

  it('rejects last: 101, naming the maximum of 100', async () => {
    expectBadInput(await request(target, { last: 101 }), /"last"/, /\b101\b/, /maximum page size of 100\b/);
  });

  it('rejects a negative first or last', async () => {
    expectBadInput(await request(target, { first: -1 }), /"first" must not be negative/);
    expectBadInput(await request(target, { last: -1 }), /"last" must not be negative/);
  });

  it('rejects first and last together', async () => {
    expectBadInput(await request(target, { first: 2, last: 2 }), /either "first" .* or "last" .*not both/);
  });

  it.each(MALFORMED_CURSORS)('rejects %s as a cursor, as after and as before', async (_label, make) => {
    const cursor = make(target.connection);
    expectBadInput(await request(target, { first: 5, after: cursor }), /"after" is not a valid cursor/);
    expectBadInput(await request(target, { last: 5, before: cursor }), /"before" is not a valid cursor/);
  });

  it('rejects the cursor of every other connection, naming both', async () => {
    for (const other of TARGETS.filter((candidate) => candidate !== target)) {
      const cursor = await cursorOf(other);
      expectBadInput(
        await request(target, { first: 5, after: cursor }),
        /"after" is a cursor of another connection/,
        new RegExp(`"${other.connection}"`),
        new RegExp(`not of "${target.connection}"`),
      );
      expectBadInput(await request(target, { last: 5, before: cursor }), /"before" is a cursor of another connection/);
    }
  });
});

it('rejects a cursor of the right shape whose instant PostgreSQL cannot hold', async () => {
  // Year 10000 and year 0: Date.toISOString() writes them as "+010000-01-01T…" and "0000-12-31T…", which the
  // keyset SQL casts to timestamptz and PostgreSQL rejects (it has no year 0). The client's cursor is at fault.
  const results = [];
  for (const target of TARGETS) {
    for (const instant of [253_402_300_800_000, -62_135_596_800_001]) {
      const response = await request(target, { first: 5, after: base64url(JSON.stringify([target.connection, instant, 1])) });
      const error = response.body.errors?.[0];
      results.push({
        connection: target.connection,
        instant,
        code: error?.extensions?.['code'],
        // Any message that points at the cursor will do: "not a valid cursor", or what is wrong with its time.
        namesTheCursor: /"after"/.test(error?.message ?? '') && /cursor/i.test(error?.message ?? ''),
      });
    }
  }
  expect(results).toEqual(results.map(({ connection, instant }) => ({ connection, instant, code: 'BAD_USER_INPUT', namesTheCursor: true })));
});

describe('TransactionFilter', () => {
  const LEDGER = `query($filter: TransactionFilter) { viewer { transactions(first: 5, filter: $filter) { edges { cursor } } } }`;

  it('rejects a malformed DateTime in the filter (the control for the case below)', async () => {
    const response = await server.graphql(LEDGER, { variables: { filter: { from: '2026-13-01T00:00:00Z' } }, as: reader.id });
    // A variable that fails to coerce is a request error, answered before execution (errors.test.ts owns its status).
    expect(response.status).toBeLessThan(500);
    expect(response.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.message).toMatch(/DateTime must be an ISO 8601 timestamp/);
    expectNoStackTrace(response.body);
  });

  it.each([
    ['February 30th', '2025-02-30T00:00:00Z'],
    ['February 29th of a common year', '2025-02-29T12:00:00Z'],
    ['April 31st, with an offset', '2025-04-31T23:30:00-02:00'],
    ['hour 24', '2025-01-01T24:00:00Z'],
    ['hour 24 with an offset', '2025-01-01T24:00:00+05:30'],
  ])('rejects %s (%s), which Date would roll over into another day', async (_label, value) => {
    for (const bound of ['from', 'to']) {
      const response = await server.graphql(LEDGER, { variables: { filter: { [bound]: value } }, as: reader.id });
      expect(response.status).toBeLessThan(500);
      expect(response.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
      expect(response.body.errors?.[0]?.message).toMatch(/DateTime must be an ISO 8601 timestamp/);
      expect(response.body.errors?.[0]?.message).toContain(JSON.stringify(value));
    }
    // Written inline in the document, the literal goes through the same check.
    const inline = await server.graphql(`{ viewer { transactions(first: 5, filter: { from: "${value}" }) { edges { cursor } } } }`, { as: reader.id });
    expect(inline.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
  });

  it.each([
    ['February 29th of a leap year, with an offset', '2024-02-29T12:00:00+05:30'],
    ['the last second of a year, 14 hours behind UTC', '2025-12-31T23:59:59.999-14:00'],
    ['a time without seconds', '2025-03-01T00:00+01:00'],
  ])('accepts %s (%s) (the controls for the case above)', async (_label, value) => {
    const response = await server.graphql(LEDGER, { variables: { filter: { from: value } }, as: reader.id });
    expect(response.body.errors).toBeUndefined();
  });

  it.each([
    ['to', '9999-12-31T23:00:00-02:00'],
    ['from', '0000-01-01T00:00:00+01:00'],
  ])('rejects a %s DateTime whose instant lies outside the years 0001-9999 (%s) as bad input', async (bound, value) => {
    // Valid ISO 8601 text with an offset that moves the instant past year 9999 (or before year 1): the scalar
    // accepts it, and PostgreSQL cannot parse the "+010000-…" / "-000001-…" that drizzle then sends.
    const response = await server.graphql(LEDGER, { variables: { filter: { [bound]: value } }, as: reader.id });
    expect(response.status).toBeLessThan(500);
    expect(response.body.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.message).toMatch(/DateTime|range|year/i);
    expectNoStackTrace(response.body);
  });
});

describe('nodes(ids:)', () => {
  const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`;

  it('accepts 100 IDs (the control for the case below)', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => globalId('User', i + 1));
    const response = await server.graphql<{ nodes: unknown[] }>(NODES, { variables: { ids } });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data!.nodes).toHaveLength(100);
  });

  it('rejects 101 IDs, naming the maximum of 100', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => globalId('User', i + 1));
    expectBadInput(await server.graphql(NODES, { variables: { ids } }), /\b101 IDs\b/, /maximum of 100\b/);
  });

  it('rejects a list holding one malformed ID', async () => {
    const ids = [globalId('User', writer.id), 'not-an-id'];
    expectBadInput(await server.graphql(NODES, { variables: { ids } }), /Invalid global ID: not-an-id/);
  });
});

describe('node(id:)', () => {
  const NODE = `query($id: ID!) { node(id: $id) { id } }`;

  it.each([
    ['a random string', 'garbage!!', /Invalid global ID: garbage!!/],
    ['an empty string', '', /Invalid global ID/],
    ['base64 without a type', Buffer.from('12').toString('base64'), /Invalid global ID/],
    ['base64 of text without a separator', Buffer.from('User').toString('base64'), /Invalid global ID/],
    ['a User ID of a non-integer', globalId('User', 'abc'), /"abc" is not a valid User ID/],
    ['a User ID of 0', globalId('User', 0), /"0" is not a valid User ID/],
    ['a Post ID of a negative number', globalId('Post', -3), /"-3" is not a valid Post ID/],
    ['a Transaction ID beyond bigint', globalId('Transaction', '99999999999999999999'), /is not a valid Transaction ID/],
    // Above 2^53 a number cannot hold every integer: …993 would be read as …992, a different row.
    ['a User ID above the largest safe integer', globalId('User', '9007199254740993'), /"9007199254740993" is not a valid User ID/],
    ['a Post ID of 2^53', globalId('Post', '9007199254740992'), /"9007199254740992" is not a valid Post ID/],
    ['the ID of a type that is not a Node', globalId('Money', 1), new RegExp(`Money|${globalId('Money', 1)}`)],
  ])('rejects %s', async (_label, id, message) => {
    expectBadInput(await server.graphql(NODE, { variables: { id } }), message);
  });

  it('accepts the largest safe integer as an ID, answering null when no row has it (the control for the cases above)', async () => {
    const response = await server.graphql(NODE, { variables: { id: globalId('User', '9007199254740991') } });
    expect(response.body).toEqual(withCost({ data: { node: null } }));
  });

  it('rejects the ID of a type that does not exist, saying the ID is unknown', async () => {
    // Today the message is Pothos' internal "Foo has not been implemented", which reads like a server fault.
    const id = globalId('Foo', 1);
    expectBadInput(await server.graphql(NODE, { variables: { id } }), /\bID\b/, new RegExp(id));
  });
});

describe('user', () => {
  const USER = `query($id: ID, $username: String) { user(id: $id, username: $username) { username } }`;

  it('finds a user by ID (the control for the cases below)', async () => {
    const response = await server.graphql(USER, { variables: { id: globalId('User', writer.id) } });
    expect(response.body).toEqual(withCost({ data: { user: { username: 'writer' } } }));
  });

  it('rejects the ID of a Post, naming the type it wants', async () => {
    const id = globalId('Post', post.id);
    expectBadInput(await server.graphql(USER, { variables: { id } }), new RegExp(`${id} is not of type: User`));
  });

  it('rejects a malformed ID', async () => {
    expectBadInput(await server.graphql(USER, { variables: { id: 'nope' } }), /Invalid global ID: nope/);
  });

  it('rejects neither username nor id', async () => {
    expectBadInput(await server.graphql(USER), /exactly one of "username" and "id"/);
  });

  it('rejects both username and id', async () => {
    const response = await server.graphql(USER, { variables: { id: globalId('User', writer.id), username: 'writer' } });
    expectBadInput(response, /exactly one of "username" and "id"/);
  });
});
