import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRow } from '../../src/db/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { codesOf, expectNoInternals, UUID } from '../helpers/assertions.js';
import { createUser } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let alice: UserRow;

beforeAll(async () => {
  server = await startTestServer();
  alice = await createUser(server.database.db, { username: 'alice' });
});
afterAll(() => server.close());

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

async function send(body: string, headers: Record<string, string> = {}) {
  const response = await server.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  return { response, text, body: text ? (JSON.parse(text) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }) : undefined };
}

const BAD_DOCUMENTS = [
  ['a syntax error', { query: '{ posts(first: 1) { edges ' }, /Syntax Error/],
  ['an unknown field', { query: '{ posts(first: 1) { nope } }' }, /Cannot query field "nope"/],
  ['an unknown argument', { query: '{ posts(size: 1) { pageInfo { hasNextPage } } }' }, /Unknown argument "size"/],
  [
    'a variable of the wrong type',
    { query: 'query Page($first: Int) { posts(first: $first) { pageInfo { hasNextPage } } }', variables: { first: 'ten' } },
    /Variable "\$first" got invalid value "ten"/,
  ],
  ['a missing required variable', { query: 'query One($id: ID!) { node(id: $id) { id } }' }, /Variable "\$id" of required type "ID!" was not provided/],
  ['no query at all', { variables: {} }, /query/i],
] as const;

describe('documents that fail to parse or validate', () => {
  it.each(BAD_DOCUMENTS)('%s: 400 with application/graphql-response+json, no data, no stack', async (_label, payload, message) => {
    const { response, text, body } = await send(JSON.stringify(payload), { accept: GRAPHQL_RESPONSE });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain(GRAPHQL_RESPONSE);
    expect(body).not.toHaveProperty('data');
    expect(body?.errors?.[0]?.message).toMatch(message);
    expectNoInternals(text);
  });

  it.each(BAD_DOCUMENTS.filter(([label]) => label !== 'no query at all'))(
    '%s: 200 with the legacy application/json, no data, no stack',
    async (_label, payload, message) => {
      const { response, text, body } = await send(JSON.stringify(payload), { accept: 'application/json' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(body).not.toHaveProperty('data');
      expect(body?.errors?.[0]?.message).toMatch(message);
      expectNoInternals(text);
    },
  );

  it('a syntax error points at where it is', async () => {
    const { body } = await send(JSON.stringify({ query: '{ posts(first: 1) { edges ' }));
    const error = body?.errors?.[0] as { locations?: { line: number; column: number }[]; extensions?: Record<string, unknown> } | undefined;
    expect(error?.locations).toEqual([{ line: 1, column: 27 }]);
    expect(error?.extensions?.['code']).toBe('GRAPHQL_PARSE_FAILED');
  });
});

describe('HTTP-level errors', () => {
  it.each([
    ['truncated JSON', '{"query": '],
    ['not JSON', 'query { posts { edges { cursor } } }'],
    ['a JSON string', '"{ posts { pageInfo { hasNextPage } } }"'],
  ])('%s → 400 with a GraphQL error, no stack', async (_label, raw) => {
    const { response, text, body } = await send(raw);
    expect(response.status).toBe(400);
    expect(body?.errors?.length).toBeGreaterThan(0);
    expect(body).not.toHaveProperty('data');
    expectNoInternals(text);
  });

  it.each([['application/xml'], ['text/plain'], ['image/png']])('content type %s → 415', async (contentType) => {
    const response = await server.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': contentType, accept: 'application/json' },
      body: '{ posts { pageInfo { hasNextPage } } }',
    });
    expect(response.status).toBe(415);
    expectNoInternals(await response.text());
  });

  it('a query over GET works (control for the cases above)', async () => {
    const response = await server.fetch(`/graphql?query=${encodeURIComponent('{ user(username: "alice") { username } }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(200);
    // Kept by the response cache as sent: no per-request cost report in a cacheable GET answer.
    expect(await response.json()).toEqual({ data: { user: { username: 'alice' } } });
  });
});

describe('x-request-id', () => {
  const requests: [string, () => Promise<Response>][] = [
    ['a GraphQL answer', () => server.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ viewer { id } }"}' })],
    ['a validation error', () => server.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ nope }"}' })],
    ['bad JSON', () => server.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })],
    ['a 401', () => server.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: '{"query":"{ viewer { id } }"}' })],
    ['a 415', () => server.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })],
    ['/healthz', () => server.fetch('/healthz')],
    ['/readyz', () => server.fetch('/readyz')],
    ['an unknown path', () => server.fetch('/nowhere')],
  ];

  it.each(requests)('is on every response: %s', async (_label, request) => {
    const response = await request();
    expect(response.headers.get('x-request-id')).toMatch(UUID);
  });

  it('is new for every request', async () => {
    const ids = await Promise.all([1, 2, 3].map(async () => (await server.fetch('/healthz')).headers.get('x-request-id')));
    expect(new Set(ids).size).toBe(3);
  });

  it.each([['abc-123'], ['trace:01HZX.42_a'], ['x'.repeat(128)]])('echoes a sane client id: %s', async (id) => {
    const healthz = await server.fetch('/healthz', { headers: { 'x-request-id': id } });
    expect(healthz.headers.get('x-request-id')).toBe(id);
    const graphql = await server.graphql('{ viewer { id } }', { headers: { 'x-request-id': id } });
    expect(graphql.headers.get('x-request-id')).toBe(id);
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['with spaces', 'abc 123'],
    ['with a slash', 'abc/123'],
    ['with quotes', '"abc"'],
    ['with non-ASCII', 'abc-ü'],
  ])('replaces a client id that is %s with its own', async (_label, id) => {
    const response = await server.fetch('/healthz', { headers: { 'x-request-id': id } });
    expect(response.headers.get('x-request-id')).toMatch(UUID);
  });
});

describe('unexpected errors are masked', () => {
  // The only natural unexpected error through the public API that is not itself a bug: the database going away.
  let broken: TestServer;
  beforeAll(async () => {
    broken = await startTestServer();
    await broken.close();
  });

  it('as INTERNAL_SERVER_ERROR quoting the request id, without the cause or a stack', async () => {
    const response = await broken.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-request-id': 'masked-req-1' },
      body: JSON.stringify({ query: '{ posts(first: 1) { edges { cursor } } }' }),
    });
    const text = await response.text();
    const body = JSON.parse(text) as { data: unknown; errors: { message: string; path: string[]; extensions: Record<string, unknown> }[] };
    expect(response.headers.get('x-request-id')).toBe('masked-req-1');
    expect(body.data).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]).toMatchObject({ path: ['posts'], extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'masked-req-1' } });
    expect(body.errors[0]!.message).toContain('masked-req-1');
    expect(Object.keys(body.errors[0]!.extensions).sort()).toEqual(['code', 'requestId']);
    expect(text).not.toMatch(/pool|pglite|closed|connect|select|posts"? from/i);
    expectNoInternals(text);
  });

  it('with a server-made request id when the client sent none', async () => {
    const response = await broken.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ user(username: "alice") { id } }' }),
    });
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(UUID);
    const body = (await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId });
    expect(body.errors[0]!.message).toContain(requestId);
  });
});

describe('the log line of an unexpected error', () => {
  const lines: string[] = [];
  let broken: TestServer;
  beforeAll(async () => {
    broken = await startTestServer({}, createLogger({ logLevel: 'error' }, { write: (line: string) => void lines.push(line) }));
    await broken.close();
  });

  it('names the request, the SQL and the database\'s own message, never the query\'s parameters', async () => {
    // A failed query's error holds its parameters (here a username; elsewhere emails, thousands of ids).
    const secret = 'private-username-3f9c1a';
    lines.length = 0;
    const response = await broken.graphql('query ($u: String) { user(username: $u) { id } }', {
      variables: { u: secret },
      headers: { 'x-request-id': 'log-req-1' },
    });
    expect(codesOf(response.body)).toEqual(['INTERNAL_SERVER_ERROR']);
    const logged = lines.filter((line) => line.includes('"unexpected error"'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).not.toContain(secret);
    expect(logged[0]).not.toMatch(/params/);
    const entry = JSON.parse(logged[0]!) as { requestId: string; err: { sql: string; message: string; cause: { message: string } } };
    expect(entry.requestId).toBe('log-req-1');
    expect(entry.err.sql).toMatch(/^select .* from "users" where lower\("users"\."username"\) = lower\(\$1\)/);
    // drizzle's "Failed query: <sql>" without its "params: …" tail, and beneath it the driver's reason (a closed
    // PGlite, an ended pg pool).
    expect(entry.err.message).toBe(`Failed query: ${entry.err.sql}`);
    expect(entry.err.cause.message).toMatch(/closed|ended|end/i);
  });
});

describe('input the database cannot store is the client\'s error, not an internal one', () => {
  // A NUL character cannot be stored in a PostgreSQL text value: sent to the database it raises
  // "invalid byte sequence for encoding UTF8: 0x00". No user can have such a name, so the answer is null.
  it.each([
    ['as a variable', { query: 'query ($u: String) { user(username: $u) { id } }', variables: { u: 'ali\u0000ce' } }],
    ['inline', { query: '{ user(username: "ali\\u0000ce") { id } }' }],
  ])('a username with a NUL character, %s', async (_label, payload) => {
    const { body, text } = await send(JSON.stringify(payload));
    expect(codesOf(body ?? {})).not.toContain('INTERNAL_SERVER_ERROR');
    expect(codesOf(body ?? {}).every((code) => code === 'BAD_USER_INPUT')).toBe(true);
    expect((body?.data as { user: unknown } | undefined)?.user ?? null).toBeNull();
    expectNoInternals(text);
  });

  // PostgreSQL timestamps run from 4713 BC to 294276 AD but do not accept year 0 or a five-digit year in the
  // ISO form drizzle sends (Date.toISOString), so such instants must be refused at the DateTime scalar.
  it.each([
    ['year 0', '0000-01-01T00:00:00Z'],
    ['an instant that is year 10000 in UTC', '9999-12-31T23:59:59-14:00'],
  ])('a DateTime filter at %s', async (_label, instant) => {
    const token = await server.tokenFor(alice.id);
    for (const payload of [
      { query: 'query ($from: DateTime) { viewer { transactions(filter: { from: $from }) { edges { cursor } } } }', variables: { from: instant } },
      { query: `{ viewer { transactions(filter: { to: "${instant}" }) { edges { cursor } } } }` },
    ]) {
      const { body, text } = await send(JSON.stringify(payload), { authorization: `Bearer ${token}` });
      expect(body?.errors?.length, text).toBeGreaterThan(0);
      expect(codesOf(body ?? {}), text).not.toContain('INTERNAL_SERVER_ERROR');
      expect(body?.errors?.[0]?.message).toMatch(/DateTime/);
    }
  });

  it('(control: a malformed DateTime is refused by the scalar, naming it)', async () => {
    const token = await server.tokenFor(alice.id);
    const { body } = await send(
      JSON.stringify({ query: 'query ($from: DateTime) { viewer { transactions(filter: { from: $from }) { edges { cursor } } } }', variables: { from: 'yesterday' } }),
      { authorization: `Bearer ${token}` },
    );
    expect(body?.errors?.[0]?.message).toMatch(/DateTime must be an ISO 8601 timestamp/);
  });

  it.each([['User:abc'], ['User:1.5'], ['User:1e30'], ['User:']])('a User global ID %j that holds no row id, passed to user(id:)', async (raw) => {
    const id = Buffer.from(raw).toString('base64');
    const { body, text } = await send(JSON.stringify({ query: 'query ($id: ID) { user(id: $id) { username } }', variables: { id } }));
    expect(codesOf(body ?? {}), text).toEqual(['BAD_USER_INPUT']);
    expect(body?.data).toEqual({ user: null });
  });

  it('(control: the same IDs are BAD_USER_INPUT through node(id:))', async () => {
    for (const raw of ['User:abc', 'User:1.5', 'User:1e30']) {
      const id = Buffer.from(raw).toString('base64');
      const { body } = await send(JSON.stringify({ query: 'query ($id: ID!) { node(id: $id) { id } }', variables: { id } }));
      expect(codesOf(body ?? {}), raw).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('a forged cursor whose timestamp PostgreSQL cannot take (year 0) is a bad cursor', async () => {
    const cursor = Buffer.from(JSON.stringify(['posts', Date.parse('0000-01-01T00:00:00.000Z'), 1])).toString('base64url');
    const { body, text } = await send(JSON.stringify({ query: `{ posts(first: 1, after: "${cursor}") { edges { cursor } } }` }));
    expect(codesOf(body ?? {}), text).toEqual(['BAD_USER_INPUT']);
  });
});
