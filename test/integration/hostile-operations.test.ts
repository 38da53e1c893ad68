/**
 * Hostile operations (DESIGN.md section 7): each is refused with its code, its HTTP status, no stack trace, no
 * `data`, and before a single SQL statement. The database holds a few users who all follow one another and
 * have posts, so any of these documents that slipped through to execution would issue SQL and fail its test.
 * Each refusal's wall time (request sent to body read) is printed as a table after the file; timings are not
 * asserted, only reported.
 *
 * Most cases go through real HTTP, stacked as src/main.ts stacks it (body reader with its 100 KB limit →
 * admission → yoga); the ones about documents longer than the body limit go through yoga.fetch as well, which
 * has no body limit, to show the document-length limit behind it.
 */
import { getIntrospectionQuery, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/http/body.js';
import { codesOf, expectNoInternals, globalId } from '../helpers/assertions.js';
import { createPosts, createUsers, followMany } from '../helpers/factories.js';
import { listenLikeMain, type HttpServer } from '../helpers/http.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server.js';

const GRAPHQL_RESPONSE = 'application/graphql-response+json';
const LEGACY_JSON = 'application/json';
const JWT = { JWT_SECRET: 'hostile-operations-test-secret-0123456789', JWT_ISSUER: 'tally-test', JWT_AUDIENCE: 'tally-test-api' };

interface Target {
  readonly name: string;
  readonly server: TestServer;
  readonly http: HttpServer;
  /** A user that exists, so a lookup by username that slipped through would find rows. */
  readonly username: string;
  readonly userId: number;
}

/** Development defaults. */
let dev: Target;
/** Development with MAX_DEPTH 20, MAX_ALIASES 2,000 and documents up to 1,000,000 characters. */
let raised: Target;
/** Production (limit figures hidden). */
let production: Target;
/** Development with LIMIT_DETAILS=false. */
let quiet: Target;

async function start(name: string, env: Record<string, string>): Promise<Target> {
  const server = await startTestServer({ LOG_LEVEL: 'silent', ...env });
  const http = await listenLikeMain(server);
  const db = server.database.db;
  const users = await createUsers(db, 4);
  // Everyone follows everyone, and has posts: every connection of the hostile documents has rows behind it.
  await followMany(db, users.flatMap((a) => users.filter((b) => b.id !== a.id).map((b) => ({ followerId: a.id, followeeId: b.id }))));
  await createPosts(db, users.flatMap((user) => [{ authorId: user.id }, { authorId: user.id }]));
  // The first request of a server compiles and caches; the refusals below should not be timed with it.
  await fetch(`${http.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ posts(first: 1) { edges { cursor } } }' }) });
  return { name, server, http, username: users[0]!.username, userId: users[0]!.id };
}

beforeAll(async () => {
  [dev, raised, production, quiet] = await Promise.all([
    start('development', { NODE_ENV: 'development' }),
    start('raised limits', { NODE_ENV: 'development', MAX_DEPTH: '20', MAX_ALIASES: '2000', MAX_DOCUMENT_LENGTH: '1000000' }),
    // Open documents, so the limits themselves are seen in production (trusted mode refuses these before them).
    start('production', { NODE_ENV: 'production', PERSISTED_OPERATIONS: 'open', ...JWT }),
    start('LIMIT_DETAILS=false', { NODE_ENV: 'development', LIMIT_DETAILS: 'false' }),
  ]);
});

interface Timing {
  readonly label: string;
  readonly via: string;
  readonly status: number;
  readonly codes: string;
  readonly bytes: number;
  readonly ms: number;
}
const timings: Timing[] = [];

afterAll(async () => {
  if (timings.length > 0) {
    const rows = timings.map((t) => [t.label, t.via, String(t.status), t.codes, String(t.bytes), t.ms.toFixed(1)]);
    const header = ['case', 'via', 'status', 'codes', 'request bytes', 'ms'];
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    const line = (cells: string[]) => cells.map((cell, column) => (column === 5 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ');
    console.log(['Refusal wall times (request sent → body read):', line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
  }
  for (const target of [dev, raised, production, quiet]) {
    await target?.http.close();
    await target?.server.close();
  }
});

type Via = 'http' | 'fetch';

interface Sent {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: GraphQLResponse['body'] & { extensions?: Record<string, unknown> };
  /** SQL statements the request issued. */
  readonly sql: number;
  readonly ms: number;
}

interface SendOptions {
  readonly via?: Via;
  readonly accept?: string;
}

/** Sends a raw JSON body, counting the SQL it causes and timing it from send to the last byte read. */
async function send(target: Target, body: string, { via = 'http', accept = GRAPHQL_RESPONSE }: SendOptions = {}): Promise<Sent> {
  const init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json', accept }, body };
  target.server.statements.reset();
  const started = performance.now();
  const response = via === 'http' ? await fetch(`${target.http.base}/graphql`, init) : await target.server.fetch('/graphql', init);
  const text = await response.text();
  const ms = performance.now() - started;
  let parsed: Sent['body'];
  try {
    parsed = JSON.parse(text) as Sent['body'];
  } catch {
    throw new Error(`not a JSON response (${response.status}): ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, text, body: parsed, sql: target.server.statements.count, ms };
}

const operation = (query: string, variables?: Record<string, unknown>) => JSON.stringify({ query, variables });

interface Expected {
  readonly status: number;
  /** The response must carry this code… */
  readonly code?: string;
  /** …or at least one of these. */
  readonly oneOf?: readonly string[];
}

/**
 * Sends `body` and asserts it was refused as expected: the status, the code, no `data`, no internals, and not
 * one SQL statement. The timing goes to the table.
 */
async function expectRefused(label: string, target: Target, body: string, expected: Expected, options: SendOptions = {}): Promise<Sent> {
  const sent = await send(target, body, options);
  const codes = codesOf(sent.body);
  timings.push({ label, via: `${options.via ?? 'http'} ${target.name}`, status: sent.status, codes: codes.join(','), bytes: Buffer.byteLength(body), ms: sent.ms });
  const detail = `${label}: ${sent.status} ${sent.text.slice(0, 300)}`;
  expect(sent.status, detail).toBe(expected.status);
  if (expected.code) expect(codes, detail).toContain(expected.code);
  if (expected.oneOf) expect(codes.some((code) => expected.oneOf!.includes(code as string)), `${detail} (expected one of ${expected.oneOf.join(', ')})`).toBe(true);
  expect(sent.body, detail).not.toHaveProperty('data');
  expectNoInternals(sent.text);
  expect(sent.sql, `${label}: SQL statements issued`).toBe(0);
  return sent;
}

/** The document is well formed (its braces balance): it is refused for what it asks, not as a syntax error. */
function wellFormed(query: string): string {
  expect(() => parse(query)).not.toThrow();
  return query;
}

/** Fields nested `levels` connections deep under one user: depth 1 + 3 × levels + 1. */
const nestedFollowers = (username: string, levels: number, first = '') => {
  const args = first ? `(first: ${first})` : '';
  return `{ user(username: "${username}") { ${`followers${args} { edges { node { `.repeat(levels)}id${' } } }'.repeat(levels)} } }`;
};

/** The document that ran 206 s on the `load` data (DESIGN.md section 7). */
const QUERY_206_S =
  '{ posts(first: 100) { edges { node { author { followers(first: 100) { edges { node { followers(first: 100) { edges { node { following(first: 100) { edges { node { id name } } } } } } } } } } } } } }';

describe('hostile operations: refused before any SQL', () => {
  it('1. the 206 s query is refused in milliseconds (depth at the defaults, cost once depth allows it)', async () => {
    wellFormed(QUERY_206_S);
    // Four connections of edges → node cost three levels each: the document is 14 deep, over MAX_DEPTH 12. The
    // shape limits run at validation, before cost is priced at execution, so at the defaults only
    // DEPTH_LIMIT_EXCEEDED comes. Where a deployment allows the depth, its cost (100 × 100 × 100 × 100 nodes)
    // refuses it instead.
    const sent = await expectRefused('1. 206 s query', dev, operation(QUERY_206_S), { status: 400, code: 'DEPTH_LIMIT_EXCEEDED' });
    expect(codesOf(sent.body)).toEqual(['DEPTH_LIMIT_EXCEEDED']);
    expect(sent.body.errors![0]!.extensions).toMatchObject({ value: 14, limit: 12 });

    const priced = await expectRefused('1. 206 s query, MAX_DEPTH 20', raised, operation(QUERY_206_S), { status: 400, code: 'COST_LIMIT_EXCEEDED' });
    const value = priced.body.errors![0]!.extensions!['value'] as number;
    expect(value).toBeGreaterThan(100 ** 4);
    expect(priced.body.extensions?.['cost']).toMatchObject({ requestedQueryCost: value, maximumQueryCost: 1000 });
  });

  it('2. a document 50 deep is DEPTH_LIMIT_EXCEEDED', async () => {
    const query = wellFormed(nestedFollowers(dev.username, 16));
    const sent = await expectRefused('2. depth 50', dev, operation(query), { status: 400, code: 'DEPTH_LIMIT_EXCEEDED' });
    expect(sent.body.errors![0]!.extensions).toMatchObject({ value: 50, limit: 12 });
  });

  it('3. first: 100 nested within MAX_DEPTH is refused by its cost, with value > 1000', async () => {
    // Three connections of 100 (posts → author → posts → author → posts): exactly 12 deep.
    const posts = wellFormed(
      '{ posts(first: 100) { edges { node { author { posts(first: 100) { edges { node { author { posts(first: 100) { edges { node { id } } } } } } } } } } } }',
    );
    // Four levels of 100 (nodes is priced at its 100 IDs): 11 deep.
    const four = wellFormed(
      `{ nodes(ids: ["${globalId('User', dev.userId)}"]) { ... on User { followers(first: 100) { edges { node { followers(first: 100) { edges { node { following(first: 100) { edges { node { id } } } } } } } } } } } }`,
    );
    for (const [label, query] of [['3. posts×3 first:100', posts], ['3. nodes→followers×3 first:100', four]] as const) {
      const sent = await expectRefused(label, dev, operation(query), { status: 400, code: 'COST_LIMIT_EXCEEDED' });
      expect(codesOf(sent.body), 'the cost refuses, not the depth').toEqual(['COST_LIMIT_EXCEEDED']);
      const extensions = sent.body.errors![0]!.extensions!;
      expect(extensions['value']).toBeGreaterThan(1000);
      expect(extensions['limit']).toBe(1000);
      expect(sent.body.extensions?.['cost']).toMatchObject({ requestedQueryCost: extensions['value'], maximumQueryCost: 1000 });
    }
  });

  it('4. 1,000 aliases of a real field are ALIAS_LIMIT_EXCEEDED', async () => {
    const fields = Array.from({ length: 1000 }, (_, i) => `a${i}: name`).join(' ');
    const query = wellFormed(`{ user(username: "${dev.username}") { ${fields} } }`);
    const sent = await expectRefused('4. 1,000 aliases of name', dev, operation(query), { status: 400, code: 'ALIAS_LIMIT_EXCEEDED' });
    expect(sent.body.errors![0]!.extensions).toMatchObject({ value: 1000, limit: 30 });
  });

  it('5. 1,000 __typename aliases are ALIAS_LIMIT_EXCEEDED', async () => {
    const fields = Array.from({ length: 1000 }, (_, i) => `t${i}: __typename`).join(' ');
    // Under a user lookup, so a document that slipped through would issue SQL.
    await expectRefused('5. 1,000 __typename aliases', dev, operation(wellFormed(`{ user(username: "${dev.username}") { ${fields} } }`)), {
      status: 400,
      code: 'ALIAS_LIMIT_EXCEEDED',
    });
    // At the root they are also 1,000 root fields: both limits say so.
    const sent = await expectRefused('5. 1,000 __typename aliases at the root', dev, operation(`{ posts(first: 1) { edges { cursor } } ${fields} }`), {
      status: 400,
      code: 'ALIAS_LIMIT_EXCEEDED',
    });
    expect(codesOf(sent.body)).toContain('ROOT_FIELD_LIMIT_EXCEEDED');
  });

  it('6. a fragment cycle is refused by validation before execution, never a 500', async () => {
    const cycles = {
      '6. fragment cycle A→B→A': 'query { posts(first: 1) { edges { cursor } } ...A } fragment A on Query { ...B } fragment B on Query { ...A }',
      '6. fragment spreading itself': '{ posts(first: 1) { edges { node { ...P } } } } fragment P on Post { id author { posts(first: 1) { edges { node { ...P } } } } }',
      '6. unknown fragment': '{ posts(first: 1) { edges { node { ...Missing } } } }',
    };
    for (const [label, query] of Object.entries(cycles)) {
      const sent = await expectRefused(label, dev, operation(query), { status: 400, code: 'GRAPHQL_VALIDATION_FAILED' });
      if (label.includes('cycle') || label.includes('itself')) expect(sent.body.errors![0]!.message).toMatch(/Cannot spread fragment "\w+" within itself/);
      // Legacy JSON: a validation error is 200 there (GraphQL over HTTP), but still nothing ran.
      const legacy = await send(dev, operation(query), { accept: LEGACY_JSON });
      expect(legacy.status).toBe(200);
      expect(codesOf(legacy.body)).toContain('GRAPHQL_VALIDATION_FAILED');
      expect(legacy.body).not.toHaveProperty('data');
      expect(legacy.sql).toBe(0);
    }
  });

  const tenThousandDirectives = (target: Target) => `{ user(username: "${target.username}") { name${' @include(if: true)'.repeat(10_000)} } }`;

  it('7. 10,000 repeated directives on one field: at the defaults the body or document limit stops them first', async () => {
    const query = wellFormed(tenThousandDirectives(dev));
    // 190 KB: over HTTP the body limit answers, behind it (yoga.fetch) the document length.
    expect(Buffer.byteLength(operation(query))).toBeGreaterThan(MAX_BODY_BYTES);
    await expectRefused('7. 10,000 @include', dev, operation(query), { status: 413, code: 'PAYLOAD_TOO_LARGE' });
    await expectRefused('7. 10,000 @include', dev, operation(query), { status: 400, code: 'DOCUMENT_TOO_LARGE' }, { via: 'fetch' });
    // Within the token limit: 600 directives (4,200 tokens) are over MAX_DIRECTIVES 50.
    const within = wellFormed(`{ user(username: "${dev.username}") { name${' @include(if: true)'.repeat(600)} } }`);
    const sent = await expectRefused('7. 600 @include', dev, operation(within), { status: 400, code: 'DIRECTIVE_LIMIT_EXCEEDED' });
    expect(sent.body.errors![0]!.extensions).toMatchObject({ value: 600, limit: 50 });
  });

  it('7. 10,000 repeated directives where documents that long are allowed: TOKEN_LIMIT_EXCEEDED or DIRECTIVE_LIMIT_EXCEEDED', async () => {
    // 70,000 tokens: the parser's token limit stops it; the directive limit would, were tokens raised too.
    // Either is a refusal before validation.
    await expectRefused('7. 10,000 @include, long documents allowed', raised, operation(tenThousandDirectives(raised)), { status: 400, oneOf: ['TOKEN_LIMIT_EXCEEDED', 'DIRECTIVE_LIMIT_EXCEEDED'] }, { via: 'fetch' });
  });

  const overlapping = (bytes: number) => {
    const fragment = '...on Query { __typename } ';
    return `{ posts(first: 1) { edges { cursor } } ${fragment.repeat(Math.ceil(bytes / fragment.length))}}`;
  };

  it('8. a 560 KB document of overlapping inline fragments: 413 over HTTP, DOCUMENT_TOO_LARGE behind it', async () => {
    const huge = overlapping(560 * 1024);
    expect(huge.length).toBeGreaterThanOrEqual(560 * 1024);
    await expectRefused('8. 560 KB overlapping fragments', dev, operation(huge), { status: 413, code: 'PAYLOAD_TOO_LARGE' });
    await expectRefused('8. 560 KB overlapping fragments', dev, operation(huge), { status: 400, code: 'DOCUMENT_TOO_LARGE' }, { via: 'fetch' });
  });

  it('8. overlapping inline fragments under the body and document limits (99 KB) are TOKEN_LIMIT_EXCEEDED', async () => {
    const underLength = overlapping(99_000);
    expect(Buffer.byteLength(operation(underLength))).toBeLessThan(MAX_BODY_BYTES);
    await expectRefused('8. 99 KB overlapping fragments', dev, operation(wellFormed(underLength)), { status: 400, code: 'TOKEN_LIMIT_EXCEEDED' });
  });

  it('8. the most overlapping fragments the token limit lets through are SELECTION_LIMIT_EXCEEDED, before validation', async () => {
    // ~540 overlapping fragments inside a connection (4,900 tokens). OverlappingFieldsCanBeMerged is quadratic
    // in them (graphql-js' own budget for that rule took 130-190 ms to abort it); the shape walk counts the
    // fields they bring into one selection set and refuses them first.
    const nested = `{ posts(first: 1) { ${'...on PostConnection { pageInfo { hasNextPage } } '.repeat(540)}} }`;
    const sent = await expectRefused('8. 540 nested overlapping fragments (4,900 tokens)', dev, operation(wellFormed(nested)), {
      status: 400,
      code: 'SELECTION_LIMIT_EXCEEDED',
    });
    expect(sent.body.errors![0]!.extensions).toMatchObject({ value: 540, limit: 100 });
  });

  it('9. a 1 MB query: 413 over HTTP, DOCUMENT_TOO_LARGE behind it', async () => {
    const query = `{ posts(first: 1) { edges { cursor } } ${'__typename '.repeat(Math.ceil((1024 * 1024) / 11))}}`;
    expect(query.length).toBeGreaterThan(1024 * 1024);
    await expectRefused('9. 1 MB query', dev, operation(query), { status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const sent = await expectRefused('9. 1 MB query', dev, operation(query), { status: 400, code: 'DOCUMENT_TOO_LARGE' }, { via: 'fetch' });
    expect(sent.body.errors![0]!.extensions).toMatchObject({ value: query.length, limit: 100_000 });
  });

  it('10. 500 batched operations (under the body limit) are BATCH_LIMIT_EXCEEDED', async () => {
    const batch = JSON.stringify(Array.from({ length: 500 }, () => ({ query: '{ posts(first: 1) { edges { node { author { name } } } } }' })));
    // Under 100 KB, so it is the batch limit that answers, not the body limit.
    expect(Buffer.byteLength(batch)).toBeLessThan(MAX_BODY_BYTES);
    const sent = await expectRefused('10. 500 batched operations', dev, batch, { status: 400, code: 'BATCH_LIMIT_EXCEEDED' });
    expect(sent.body.errors![0]!.extensions).toMatchObject({ value: 500, limit: 0 });
    await expectRefused('10. 500 batched operations', dev, batch, { status: 400, code: 'BATCH_LIMIT_EXCEEDED' }, { via: 'fetch' });
  });

  it('11. circular introspection is DEPTH_LIMIT_EXCEEDED; the standard introspection query passes in development', async () => {
    // Only 8 selections deep (within MAX_DEPTH): the nesting of introspection lists (fields in fields in
    // fields: 3, the bound is 2) refuses it, as graphql-js' MaxIntrospectionDepthRule would.
    const circular = wellFormed('{ posts(first: 1) { edges { cursor } } __schema { types { fields { type { fields { type { fields { name } } } } } } } }');
    const sent = await expectRefused('11. circular introspection', dev, operation(circular), { status: 400, code: 'DEPTH_LIMIT_EXCEEDED' });
    expect(sent.body.errors![0]!.extensions).toMatchObject({ value: 3, limit: 2 });

    // What GraphiQL sends (the default, and with every option a recent GraphiQL turns on).
    for (const query of [getIntrospectionQuery(), getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true })]) {
      const standard = await send(dev, operation(query));
      expect(standard.status, standard.text.slice(0, 300)).toBe(200);
      expect(standard.body.errors).toBeUndefined();
      expect((standard.body.data as { __schema: { types: unknown[] } }).__schema.types.length).toBeGreaterThan(10);
    }
  });

  it('12. a 50,000-character string variable is VARIABLE_TOO_LARGE; a 2 MB one over HTTP is 413', async () => {
    const query = 'query ($u: String!) { user(username: $u) { id posts(first: 100) { edges { cursor } } } }';
    const long = await expectRefused('12. 50,000-char variable', dev, operation(query, { u: 'x'.repeat(50_000) }), { status: 400, code: 'VARIABLE_TOO_LARGE' });
    expect(long.body.errors![0]!.extensions).toMatchObject({ value: 50_000, limit: 10_000 });
    // Nested inside an input object, it is found all the same.
    await expectRefused(
      '12. 50,000-char string in an input object',
      dev,
      operation('mutation ($i: CreatePostInput!) { createPost(input: $i) { post { id } } }', { i: { body: 'x'.repeat(50_000) } }),
      { status: 400, code: 'VARIABLE_TOO_LARGE' },
    );
    await expectRefused('12. 2 MB variable', dev, operation(query, { u: 'x'.repeat(2 * 1024 * 1024) }), { status: 413, code: 'PAYLOAD_TOO_LARGE' });
    await expectRefused('12. 2 MB variable', dev, operation(query, { u: 'x'.repeat(2 * 1024 * 1024) }), { status: 400, code: 'VARIABLE_TOO_LARGE' }, { via: 'fetch' });
  });

  it('13. more than MAX_TOKENS tokens (6,000 __typename) are TOKEN_LIMIT_EXCEEDED', async () => {
    const query = wellFormed(`{ posts(first: 1) { edges { cursor } } ${'__typename '.repeat(6000)}}`);
    const sent = await expectRefused('13. 6,000 __typename', dev, operation(query), { status: 400, code: 'TOKEN_LIMIT_EXCEEDED' });
    expect(sent.body.errors![0]!.extensions).toMatchObject({ limit: 5000 });
    expect(sent.body.errors![0]!.extensions!['value']).toBeGreaterThan(5000);
  });

  it('14. more than MAX_ROOT_FIELDS root fields are ROOT_FIELD_LIMIT_EXCEEDED; ten pass', async () => {
    const roots = (count: number) => `{ ${Array.from({ length: count }, (_, i) => `u${i}: user(username: "${dev.username}") { id }`).join(' ')} }`;
    const sent = await expectRefused('14. 11 root fields', dev, operation(wellFormed(roots(11))), { status: 400, code: 'ROOT_FIELD_LIMIT_EXCEEDED' });
    expect(codesOf(sent.body)).toEqual(['ROOT_FIELD_LIMIT_EXCEEDED']);
    expect(sent.body.errors![0]!.extensions).toMatchObject({ value: 11, limit: 10 });
    const ten = await send(dev, operation(roots(10)));
    expect(ten.status, ten.text).toBe(200);
    expect(ten.sql).toBeGreaterThan(0);
  });

  it('15. ten aliased __schema (the schema ten times over) are INTROSPECTION_LIMIT_EXCEEDED, through fragments too; one passes', async () => {
    const schemaOnce = '__schema { types { name fields { name type { name } } } }';
    const ten = `{ ${Array.from({ length: 10 }, (_, i) => `s${i}: ${schemaOnce}`).join(' ')} }`;
    const sent = await expectRefused('15. ten aliased __schema', dev, operation(wellFormed(ten)), { status: 400, code: 'INTROSPECTION_LIMIT_EXCEEDED' });
    expect(codesOf(sent.body)).toEqual(['INTROSPECTION_LIMIT_EXCEEDED']);
    expect(sent.body.errors![0]!.extensions).toMatchObject({ value: 10, limit: 1 });

    // Counted where spread, in inline fragments, and unaliased (execution would merge those two into one key).
    for (const [label, query] of [
      ['a fragment spread twice', `{ a: __schema { queryType { name } } ...S ... { ...S } } fragment S on Query { ${schemaOnce} }`],
      ['an inline fragment beside the field', `{ __schema { queryType { name } } ... on Query { __schema { types { name } } } }`],
    ] as const) {
      const refused = await expectRefused(`15. __schema in ${label}`, dev, operation(wellFormed(query)), { status: 400, code: 'INTROSPECTION_LIMIT_EXCEEDED' });
      expect(refused.body.errors![0]!.extensions!['value'], label).toBeGreaterThan(1);
    }

    const one = await send(dev, operation(`{ ${schemaOnce} t: __type(name: "User") { name } }`));
    expect(one.status, one.text.slice(0, 300)).toBe(200);
    expect(one.body.errors).toBeUndefined();
  });
});

/** One document per limit, each refused at the defaults in development and production alike. */
function refusal(target: Target, limit: LimitName): { body: string; code: string } {
  const user = `user(username: "${target.username}")`;
  switch (limit) {
    case 'depth':
      return { body: operation(nestedFollowers(target.username, 5, '1')), code: 'DEPTH_LIMIT_EXCEEDED' };
    case 'introspection depth':
      return { body: operation('{ __type(name: "User") { fields { type { fields { type { fields { name } } } } } } }'), code: 'DEPTH_LIMIT_EXCEEDED' };
    case 'aliases':
      return { body: operation(`{ ${user} { ${Array.from({ length: 31 }, (_, i) => `a${i}: name`).join(' ')} } }`), code: 'ALIAS_LIMIT_EXCEEDED' };
    case 'directives':
      return { body: operation(`{ ${user} { name${' @include(if: true)'.repeat(51)} } }`), code: 'DIRECTIVE_LIMIT_EXCEEDED' };
    case 'root fields':
      return { body: operation(`{ ${Array.from({ length: 11 }, (_, i) => `u${i}: ${user} { id }`).join(' ')} }`), code: 'ROOT_FIELD_LIMIT_EXCEEDED' };
    case 'tokens':
      return { body: operation(`{ ${user} { ${'name '.repeat(5000)}} }`), code: 'TOKEN_LIMIT_EXCEEDED' };
    case 'document length':
      return { body: operation(`{ ${user} { name } }${' '.repeat(100_000)}`), code: 'DOCUMENT_TOO_LARGE' };
    case 'string variable':
      return { body: operation('query ($u: String!) { user(username: $u) { id } }', { u: 'x'.repeat(10_001) }), code: 'VARIABLE_TOO_LARGE' };
    case 'batch':
      return { body: JSON.stringify([{ query: `{ ${user} { id } }` }, { query: `{ ${user} { name } }` }]), code: 'BATCH_LIMIT_EXCEEDED' };
    case 'schema selections':
      return { body: operation('{ a: __schema { queryType { name } } b: __schema { queryType { name } } }'), code: 'INTROSPECTION_LIMIT_EXCEEDED' };
    case 'cost':
      return { body: operation('{ posts(first: 100) { edges { node { author { posts(first: 100) { edges { node { id } } } } } } } }'), code: 'COST_LIMIT_EXCEEDED' };
  }
}
const LIMIT_NAMES = ['depth', 'introspection depth', 'schema selections', 'aliases', 'directives', 'root fields', 'tokens', 'document length', 'string variable', 'batch', 'cost'] as const;
type LimitName = (typeof LIMIT_NAMES)[number];

describe('limit refusals are HTTP 400 with the legacy "Accept: application/json" too (Tally policy, not GraphQL validation)', () => {
  for (const limit of LIMIT_NAMES) {
    it(limit, async () => {
      const { body, code } = refusal(dev, limit);
      await expectRefused(`legacy Accept: ${limit}`, dev, body, { status: 400, code }, { accept: LEGACY_JSON });
    });
  }
});

for (const which of ['production', 'LIMIT_DETAILS=false'] as const) {
  describe(`${which}: shape refusals carry no value or limit, COST_LIMIT_EXCEEDED still does`, () => {
    for (const limit of LIMIT_NAMES) {
      it(limit, async () => {
        const target = which === 'production' ? production : quiet;
        expect(target.server.config.hardening.limitDetails).toBe(false);
        const { body, code } = refusal(target, limit);
        const sent = await expectRefused(`${which}: ${limit}`, target, body, { status: 400, code });
        const error = sent.body.errors!.find((e) => e.extensions?.['code'] === code)!;
        if (code === 'COST_LIMIT_EXCEEDED') {
          expect(error.extensions).toMatchObject({ value: expect.any(Number) as unknown, limit: 1000 });
          expect(error.message).toMatch(/\d+, the limit is 1000/);
        } else {
          expect(error.extensions).toEqual({ code });
          expect(error.message).not.toMatch(/\d/);
        }
      });
    }
  });
}

describe('limits are configurable', () => {
  it('a document refused at the defaults passes where MAX_DEPTH and MAX_ALIASES are raised', async () => {
    // 14 deep and cheap (first: 1 at every level).
    const deep = (target: Target) => operation(nestedFollowers(target.username, 4, '1'));
    await expectRefused('configurable: depth 14 at MAX_DEPTH 12', dev, deep(dev), { status: 400, code: 'DEPTH_LIMIT_EXCEEDED' });
    const aliased = (target: Target) => operation(`{ user(username: "${target.username}") { ${Array.from({ length: 31 }, (_, i) => `a${i}: name`).join(' ')} } }`);
    await expectRefused('configurable: 31 aliases at MAX_ALIASES 30', dev, aliased(dev), { status: 400, code: 'ALIAS_LIMIT_EXCEEDED' });

    for (const body of [deep(raised), aliased(raised)]) {
      const sent = await send(raised, body);
      expect(sent.status, sent.text.slice(0, 300)).toBe(200);
      expect(sent.body.errors).toBeUndefined();
      expect(sent.body.data).toMatchObject({ user: expect.any(Object) as unknown });
      expect(sent.sql).toBeGreaterThan(0);
    }
  });
});
