/**
 * A production instance (NODE_ENV=production with its own JWT settings, every hardening default left as is)
 * shows none of the weaknesses a GraphQL API is probed for: alias and directive overloading, introspection,
 * field suggestions, queries over GET, form and text bodies (CSRF), error floods, GraphiQL, stack traces. Where
 * the weakness is only turned off in production, the same probe against a development instance shows it, so
 * each test could fail. Both run over a real socket, stacked as src/main.ts stacks them; every response is
 * checked for an x-request-id and for leaked internals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/http/body.js';
import { codesOf, expectNoInternals } from '../helpers/assertions.js';
import { createPosts, createUsers, followMany } from '../helpers/factories.js';
import { listenLikeMain, type HttpServer } from '../helpers/http.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';

const JWT = { JWT_SECRET: 'production-hardening-test-secret-0123456789', JWT_ISSUER: 'tally-test', JWT_AUDIENCE: 'tally-test-api' };

interface Target {
  readonly server: TestServer;
  readonly http: HttpServer;
  readonly username: string;
}

let production: Target;
let development: Target;

async function start(env: Record<string, string>): Promise<Target> {
  const server = await startTestServer({ LOG_LEVEL: 'silent', ...env });
  const http = await listenLikeMain(server);
  const db = server.database.db;
  const users = await createUsers(db, 3);
  await followMany(db, [
    { followerId: users[0]!.id, followeeId: users[1]!.id },
    { followerId: users[1]!.id, followeeId: users[0]!.id },
  ]);
  // 150 posts: a page of 100 whose authors' private fields each fail is 200 errors.
  await createPosts(db, Array.from({ length: 150 }, (_, i) => ({ authorId: users[i % 3]!.id })));
  return { server, http, username: users[0]!.username };
}

beforeAll(async () => {
  [production, development] = await Promise.all([
    // Open documents: these are production's answers to documents a trusted-only server would refuse before
    // any of them (test/integration/persisted-serving.test.ts), as an operator running open mode sees them.
    start({ NODE_ENV: 'production', PERSISTED_OPERATIONS: 'open', ...JWT }),
    // MAX_ERRORS raised: development shows every error, so the cap in production is seen to do something.
    start({ NODE_ENV: 'development', MAX_ERRORS: '1000' }),
  ]);
});
afterAll(async () => {
  for (const target of [production, development]) {
    await target?.http.close();
    await target?.server.close();
  }
});

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** SQL statements the request issued. */
  readonly sql: number;
}

/**
 * One request over the socket. Every answer, whatever it is, must carry an x-request-id and leak no internals.
 */
async function request(target: Target, path: string, init: RequestInit = {}): Promise<Answer> {
  target.server.statements.reset();
  const response = await fetch(`${target.http.base}${path}`, init);
  const text = await response.text();
  const answer = { status: response.status, headers: response.headers, text, sql: target.server.statements.count };
  expect(response.headers.get('x-request-id') ?? '', `${init.method ?? 'GET'} ${path.slice(0, 100)} → ${response.status}: no x-request-id`).toMatch(/\S/);
  // GraphiQL's page (development only) inlines its bundle, whose code says "stack"; everything else is JSON.
  if (!response.headers.get('content-type')?.startsWith('text/html')) expectNoInternals(text);
  return answer;
}

const json = (answer: Answer) => JSON.parse(answer.text) as GraphQLResponse['body'];

function post(target: Target, query: string, variables?: Record<string, unknown>, accept = 'application/graphql-response+json') {
  return request(target, '/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query, variables }) });
}

/** A refusal: this status and code, nothing executed, not one SQL statement. */
function expectRefusal(answer: Answer, status: number, code: string): GraphQLResponse['body'] {
  const detail = `${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, detail).toBe(status);
  const body = json(answer);
  expect(codesOf(body), detail).toContain(code);
  expect(body, detail).not.toHaveProperty('data');
  expect(answer.sql, `SQL issued: ${detail}`).toBe(0);
  return body;
}

/** An answer with data and no errors, which issued SQL when `sql` says so. */
function expectAnswered(answer: Answer, { sql }: { sql: boolean }): GraphQLResponse['body'] {
  const detail = `${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, detail).toBe(200);
  const body = json(answer);
  expect(body.errors, detail).toBeUndefined();
  expect(body.data, detail).toBeTruthy();
  if (sql) expect(answer.sql, detail).toBeGreaterThan(0);
  return body;
}

const aliases = (target: Target, count: number) =>
  `{ user(username: "${target.username}") { ${Array.from({ length: count }, (_, i) => `a${i}: name`).join(' ')} } }`;
/** One directive per field: @include is not repeatable, so many on one field would be invalid anyway. */
const directives = (target: Target, count: number) => `{ user(username: "${target.username}") { ${'name @include(if: true) '.repeat(count)}} }`;

describe('production: no alias or directive overloading', () => {
  it('refuses 31 aliases (MAX_ALIASES 30) without saying the figures; 30 are answered', async () => {
    const body = expectRefusal(await post(production, aliases(production, 31)), 400, 'ALIAS_LIMIT_EXCEEDED');
    expect(body.errors![0]!.extensions).toEqual({ code: 'ALIAS_LIMIT_EXCEEDED' });
    expectAnswered(await post(production, aliases(production, 30)), { sql: true });
    // The limit is on everywhere (it is not a production switch); development also says the figures.
    const dev = expectRefusal(await post(development, aliases(development, 31)), 400, 'ALIAS_LIMIT_EXCEEDED');
    expect(dev.errors![0]!.extensions).toMatchObject({ value: 31, limit: 30 });
  });

  it('refuses 51 directives (MAX_DIRECTIVES 50) without saying the figures', async () => {
    const body = expectRefusal(await post(production, directives(production, 51)), 400, 'DIRECTIVE_LIMIT_EXCEEDED');
    expect(body.errors![0]!.extensions).toEqual({ code: 'DIRECTIVE_LIMIT_EXCEEDED' });
  });

  it('answers 50 directives (the limit refuses overloading, not @include and @skip)', async () => {
    expectAnswered(await post(production, directives(production, 50)), { sql: true });
    const body = expectAnswered(await post(production, `{ user(username: "${production.username}") { name @include(if: true) id @skip(if: true) } }`), { sql: true });
    expect(body.data).toEqual({ user: { name: expect.any(String) as unknown } });
  });
});

describe('production: no introspection', () => {
  const probes = {
    '__schema': '{ __schema { queryType { name } } }',
    '__type': '{ __type(name: "User") { name } }',
    'aliased __schema': '{ s: __schema { types { name } } }',
    '__type in a fragment': '{ ...F } fragment F on Query { __type(name: "User") { fields { name } } }',
    '__schema beside a real field': '{ posts(first: 1) { edges { cursor } } __schema { queryType { name } } }',
  };
  for (const [name, query] of Object.entries(probes)) {
    it(`refuses ${name} with INTROSPECTION_DISABLED; development answers it`, async () => {
      expectRefusal(await post(production, query), 400, 'INTROSPECTION_DISABLED');
      expectAnswered(await post(development, query), { sql: false });
    });
  }

  it('still answers __typename', async () => {
    const body = expectAnswered(await post(production, '{ __typename posts(first: 1) { __typename edges { node { __typename } } } }'), { sql: true });
    expect(body.data).toMatchObject({ __typename: 'Query', posts: { __typename: 'PostConnection' } });
  });
});

describe('production: no field suggestions', () => {
  const probes: Record<string, { query: string; variables?: Record<string, unknown>; says: RegExp }> = {
    field: { query: '{ post { id } }', says: /Cannot query field "post" on type "Query"\./ },
    argument: { query: '{ posts(frist: 1) { edges { cursor } } }', says: /Unknown argument "frist" on field "Query\.posts"\./ },
    'enum value': {
      query: '{ viewer { transactions(filter: { kind: DEPOSITT }) { edges { cursor } } } }',
      says: /Value "DEPOSITT" does not exist in "TransactionKind" enum\./,
    },
    'enum value in a variable': {
      query: 'query ($k: TransactionKind) { viewer { transactions(filter: { kind: $k }) { edges { cursor } } } }',
      variables: { k: 'DEPOSITT' },
      says: /Value "DEPOSITT" does not exist in "TransactionKind" enum\./,
    },
    type: { query: '{ ... on Querry { __typename } }', says: /Unknown type "Querry"\./ },
    'input field': {
      query: 'mutation { signUp(input: { emial: "a@example.test", name: "A", username: "newcomer" }) { user { id } } }',
      says: /Field "emial" is not defined by type "SignUpInput"\./,
    },
    'field of a nested type': { query: '{ posts(first: 1) { edges { node { auhtor { id } } } } }', says: /Cannot query field "auhtor" on type "Post"\./ },
  };
  for (const [name, { query, variables, says }] of Object.entries(probes)) {
    it(`a mistyped ${name}: the error, without "Did you mean"; development suggests`, async () => {
      const answer = await post(production, query, variables);
      expect(answer.sql).toBe(0);
      const messages = json(answer).errors!.map((error) => error.message);
      expect(messages.join('\n')).toMatch(says);
      for (const message of messages) expect(message).not.toMatch(/did you mean/i);

      const dev = json(await post(development, query, variables)).errors!.map((error) => error.message);
      expect(dev.join('\n')).toMatch(/Did you mean/);
    });
  }
});

describe('production: GraphQL only as a JSON POST', () => {
  const query = '{ posts(first: 1) { edges { node { id author { name } } } } }';
  const getUrl = (text: string) => `/graphql?query=${encodeURIComponent(text)}`;

  it('refuses a query over GET (405, Allow: POST, no SQL); development answers it', async () => {
    const answer = await request(production, getUrl(query), { headers: { accept: 'application/graphql-response+json' } });
    expectRefusal(answer, 405, 'METHOD_NOT_ALLOWED');
    expect(answer.headers.get('allow')).toBe('POST');
    expectAnswered(await request(development, getUrl(query), { headers: { accept: 'application/graphql-response+json' } }), { sql: true });
  });

  it('refuses a mutation over GET with 405, in development too, writing nothing', async () => {
    const mutation = 'mutation { signUp(input: { email: "get@example.test", name: "Get", username: "overget" }) { user { id } } }';
    for (const target of [production, development]) {
      expectRefusal(await request(target, getUrl(mutation), { headers: { accept: 'application/graphql-response+json' } }), 405, target === production ? 'METHOD_NOT_ALLOWED' : 'BAD_REQUEST');
    }
    expect(json(await post(development, '{ user(username: "overget") { id } }')).data).toEqual({ user: null });
  });

  const form = new URLSearchParams({ query });
  const bodies: Record<string, () => RequestInit> = {
    'url-encoded': () => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() }),
    multipart: () => {
      const data = new FormData();
      data.set('operations', JSON.stringify({ query }));
      data.set('map', '{}');
      return { method: 'POST', body: data };
    },
    'text/plain': () => ({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query }) }),
    'text/plain with a JSON-looking charset': () => ({ method: 'POST', headers: { 'content-type': 'text/plain; charset=application/json' }, body: JSON.stringify({ query }) }),
    'no content type': () => ({ method: 'POST', body: new Blob([JSON.stringify({ query })]) }),
    'application/graphql': () => ({ method: 'POST', headers: { 'content-type': 'application/graphql' }, body: query }),
  };
  for (const [name, init] of Object.entries(bodies)) {
    it(`refuses a ${name} POST with 415 (a browser sends it cross-site without a preflight), in development too`, async () => {
      for (const target of [production, development]) {
        const answer = await request(target, '/graphql', init());
        expectRefusal(answer, 415, 'UNSUPPORTED_MEDIA_TYPE');
        expect(answer.headers.get('accept')).toBe('application/json');
      }
    });
  }
});

describe('production: no error floods', () => {
  // 150 unknown fields, 50 under each of three root fields (one selection set may hold 100): 150 validation
  // errors (graphql-js stops at 100 and says so).
  const unknown = (from: number) => Array.from({ length: 50 }, (_, i) => `nope${from + i}`).join(' ');
  const validation = `{ viewer { ${unknown(0)} } a: viewer { ${unknown(50)} } b: viewer { ${unknown(100)} } }`;
  // A page of 100 posts whose authors' email and balance are private: 200 field errors, with data.
  const execution = '{ posts(first: 100) { edges { node { id author { email balance { amount } } } } } }';

  it('150 validation errors: development (MAX_ERRORS 1000) shows 101, production the first 19 and a TOO_MANY_ERRORS', async () => {
    const dev = json(await post(development, validation));
    expect(dev.errors!.length).toBe(101);
    expect(codesOf(dev)).not.toContain('TOO_MANY_ERRORS');

    const answer = await post(production, validation);
    expect(answer.sql).toBe(0);
    const body = json(answer);
    expect(body.errors).toHaveLength(20);
    expect(codesOf(body).slice(0, 19).every((code) => code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
    expect(body.errors![19]!.extensions).toEqual({ code: 'TOO_MANY_ERRORS', omitted: 82 });
  });

  it('200 field errors in one executed response: development shows them all, production 20 with the data', async () => {
    const dev = json(await post(development, execution));
    expect(dev.errors!.length).toBe(200);

    const body = json(await post(production, execution));
    expect((body.data as { posts: { edges: unknown[] } }).posts.edges).toHaveLength(100);
    expect(body.errors).toHaveLength(20);
    expect(body.errors![19]!.extensions).toEqual({ code: 'TOO_MANY_ERRORS', omitted: 181 });
  });
});

describe('production: no GraphiQL', () => {
  it('GET /graphql for a browser is not the GraphiQL page; development serves it', async () => {
    const browser = { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } };
    const answer = await request(production, '/graphql', browser);
    expect(answer.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(answer.text).not.toMatch(/graphiql/i);
    expect(answer.text).not.toMatch(/<html/i);
    // Yoga answers a GET without a query as a request error (legacy JSON: 200 with errors); a browser asking
    // for HTML alone gets 406.
    expect(answer.status).toBeLessThan(500);
    expect((await request(production, '/graphql', { headers: { accept: 'text/html' } })).status).toBe(406);

    const dev = await request(development, '/graphql', browser);
    expect(dev.status).toBe(200);
    expect(dev.headers.get('content-type')).toMatch(/text\/html/);
    expect(dev.text).toMatch(/graphiql/i);
  });
});

describe('production: no internals in any answer, and a request id on each', () => {
  // request() checks both on every response of this file; these are the malformed requests beyond it.
  const malformed: Record<string, RequestInit> = {
    'bad JSON': { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ __typename }"' },
    'a JSON scalar': { method: 'POST', headers: { 'content-type': 'application/json' }, body: '42' },
    'query not a string': { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: { a: 1 } }) },
    'variables not an object': { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }', variables: [1] }) },
    'unknown operationName': { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'query A { __typename }', operationName: 'B' }) },
    'syntax error': { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ posts(first: 1) { edges { ' }) },
    'wrong variable type': {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query ($n: Int) { posts(first: $n) { edges { cursor } } }', variables: { n: 'many' } }),
    },
    'first above 100': { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ posts(first: 100000) { edges { cursor } } }' }) },
    'a bad cursor': { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ posts(first: 1, after: "%%%") { edges { cursor } } }' }) },
    'a bad global ID': { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ node(id: "bm9wZTox") { id } }' }) },
    'a bad token': { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.token' }, body: JSON.stringify({ query: '{ viewer { id } }' }) },
    'PUT': { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) },
  };
  for (const [name, init] of Object.entries(malformed)) {
    it(`${name}: a 4xx or a 200 with errors, never a 500 or a stack trace`, async () => {
      const answer = await request(production, '/graphql', init);
      expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(500);
      if (answer.text) expect(json(answer).errors?.length ?? 0, answer.text.slice(0, 300)).toBeGreaterThan(0);
    });
  }

  it('an unknown path and the health checks carry a request id too', async () => {
    expect((await request(production, '/nope')).status).toBe(404);
    expect((await request(production, '/healthz')).status).toBe(200);
  });

  it(`the body reader's 413 (above ${MAX_BODY_BYTES / 1024} KB) carries a request id too`, async () => {
    const body = JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(MAX_BODY_BYTES) } });
    const answer = await request(production, '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expectRefusal(answer, 413, 'PAYLOAD_TOO_LARGE');
  });
});
