/**
 * No log line carries a query's parameters or a client's values, whichever library wrote the message: drizzle
 * ("Failed query: … params: …"), PGlite and pg (`params`, `detail`, `where`, a data exception's message),
 * graphql-js and Pothos (messages for the client that quote its input), and yoga, which logs each error the mask
 * replaces on its own. Statements fail for real, on PGlite and on PostgreSQL: a table renamed away, a closed
 * database, and a unique index and a column type this file's database is given for the occasion. The logger is
 * the one main.ts builds (createLogger), writing to memory.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { getVariableValues, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, WITHHELD_MESSAGE } from '../../src/observability/logger.js';
import { schema } from '../../src/schema/index.js';
import { codesOf } from '../helpers/assertions.js';
import { createUser } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface LoggedError {
  type: string;
  message: string;
  stack: string;
  code?: string;
  sql?: string;
  constraint?: string;
  cause?: LoggedError;
}
interface Entry {
  level: number;
  msg: string;
  requestId?: string;
  errors?: string[];
  err?: LoggedError;
}

const lines: string[] = [];
const logger = createLogger({ logLevel: 'debug' }, { write: (line: string) => void lines.push(line) });
const entries = () => lines.map((line) => JSON.parse(line) as Entry);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, logger);
});
afterAll(() => server.close());
beforeEach(() => {
  lines.length = 0;
});

/** A value no log line holds unless one leaks it. */
const secret = (label: string) => `${label}-${randomUUID()}`;

function expectInNoLine(...secrets: string[]) {
  expect(lines.length).toBeGreaterThan(0);
  for (const value of secrets) {
    expect(lines.filter((line) => line.toLowerCase().includes(value.toLowerCase())), `a log line quotes ${value}`).toEqual([]);
  }
}

/** An error and its causes, outermost first. */
const chain = (err: LoggedError | undefined): LoggedError[] => (err ? [err, ...chain(err.cause)] : []);

/** The request's line and its "unexpected error" line, both found by the request id the response quotes. */
function linesOf(requestId: string) {
  const all = entries();
  return {
    request: all.find((entry) => entry.msg === 'graphql request' && entry.requestId === requestId),
    unexpected: all.filter((entry) => entry.msg === 'unexpected error' && entry.requestId === requestId),
    // yoga's own line for each error the mask replaced, and ours: every error line says what failed.
    errorLines: all.filter((entry) => entry.level >= 50),
  };
}

const USER_BY_NAME = 'query ($u: String) { user(username: $u) { id } }';
const SIGN_UP = 'mutation ($input: SignUpInput!) { signUp(input: $input) { user { id } errors { code } } }';

describe('a statement that fails, with the client\'s value among its parameters', () => {
  it.each([
    ['as a variable', (value: string) => server.graphql(USER_BY_NAME, { variables: { u: value }, headers: { 'x-request-id': 'away-1' } })],
    ['inline', (value: string) => server.graphql(`{ user(username: "${value}") { id } }`, { headers: { 'x-request-id': 'away-1' } })],
  ])('user(username:) while the users table is away, the username %s', async (_label, send) => {
    const username = secret('username');
    await server.database.db.execute(sql`alter table users rename to users_away`);
    let response;
    try {
      response = await send(username);
    } finally {
      await server.database.db.execute(sql`alter table users_away rename to users`);
    }
    expect(codesOf(response.body)).toEqual(['INTERNAL_SERVER_ERROR']);
    expectInNoLine(username);

    const { request, unexpected, errorLines } = linesOf('away-1');
    expect(request?.errors).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(unexpected).toHaveLength(1);
    const err = unexpected[0]!.err!;
    expect(err.type).toBe('DrizzleQueryError');
    expect(err.sql).toMatch(/^select .* from "users" where lower\("users"\."username"\) = lower\(\$1\) limit \$2$/);
    expect(err.message).toBe(`Failed query: ${err.sql}`);
    expect(err.cause).toMatchObject({ code: '42P01', message: 'relation "users" does not exist' });
    expect(err.stack).toMatch(/^DrizzleQueryError: Failed query: select .*\n\s+at /);
    for (const line of errorLines) expect(chain(line.err).map((error) => error.code)).toContain('42P01');
  });

  it('user(username:) on a closed database', async () => {
    const broken = await startTestServer({}, logger);
    await broken.close();
    const username = secret('username');
    const response = await broken.graphql(USER_BY_NAME, { variables: { u: username }, headers: { 'x-request-id': 'closed-1' } });
    expect(codesOf(response.body)).toEqual(['INTERNAL_SERVER_ERROR']);
    expectInNoLine(username);
    const { unexpected, errorLines } = linesOf('closed-1');
    expect(unexpected).toHaveLength(1);
    expect(unexpected[0]!.err!.sql).toMatch(/from "users"/);
    // A closed PGlite, an ended pg pool.
    expect(unexpected[0]!.err!.cause?.message).toMatch(/closed|ended|end/i);
    expect(errorLines.length).toBeGreaterThanOrEqual(1);
  });

  it('signUp hits a unique index the mutation does not know: PostgreSQL\'s detail quotes the key', async () => {
    const taken = { username: secret('username'), name: secret('name'), email: `${secret('email')}@example.test` };
    const db = server.database.db;
    await db.execute(sql`create unique index users_name_key on users (name)`);
    let response;
    try {
      await createUser(db, { name: taken.name });
      lines.length = 0;
      // The detail reads "Key (name)=(<the name>) already exists."
      response = await server.graphql(SIGN_UP, { variables: { input: taken }, headers: { 'x-request-id': 'taken-1' } });
    } finally {
      await db.execute(sql`drop index users_name_key`);
    }
    expect(codesOf(response.body)).toEqual(['INTERNAL_SERVER_ERROR']);
    expectInNoLine(taken.username, taken.name, taken.email);
    expect(lines.join('')).not.toMatch(/"detail"|"params"|"where"|already exists/);

    const { unexpected, errorLines } = linesOf('taken-1');
    expect(unexpected).toHaveLength(1);
    expect(unexpected[0]!.err!.sql).toMatch(/^insert into "users"/);
    expect(unexpected[0]!.err!.cause).toMatchObject({
      code: '23505',
      constraint: 'users_name_key',
      message: 'duplicate key value violates unique constraint "users_name_key"',
    });
    for (const line of errorLines) expect(chain(line.err).map((error) => error.code)).toContain('23505');
  });

  it('signUp sends a name the column cannot take: PostgreSQL\'s message quotes the value', async () => {
    const input = { username: secret('username'), name: secret('name'), email: `${secret('email')}@example.test` };
    const db = server.database.db;
    await db.execute(sql`alter table users alter column name type integer using length(name)`);
    let response;
    try {
      // "invalid input syntax for type integer: "<the name>""
      response = await server.graphql(SIGN_UP, { variables: { input }, headers: { 'x-request-id': 'syntax-1' } });
    } finally {
      await db.execute(sql`alter table users alter column name type text using name::text`);
    }
    expect(codesOf(response.body)).toEqual(['INTERNAL_SERVER_ERROR']);
    expectInNoLine(input.username, input.name, input.email);

    const { unexpected, errorLines } = linesOf('syntax-1');
    expect(unexpected).toHaveLength(1);
    expect(unexpected[0]!.err!.cause).toMatchObject({ code: '22P02', message: 'invalid input syntax for type integer: "…"' });
    for (const line of errorLines) expect(chain(line.err).map((error) => error.code)).toContain('22P02');
  });
});

describe('a client error whose message quotes the client\'s value (the client is told; the log is not)', () => {
  it.each([
    ['a variable that fails coercion', (value: string) => ['query ($n: Int) { posts(first: $n) { edges { cursor } } }', { n: value }] as const],
    [
      'an enum value inside an input object',
      (value: string) => [SIGN_UP, { input: { username: 'someone', name: 'Someone', email: 'someone@example.test', currency: value } }] as const,
    ],
    ['a global ID variable that holds no object', (value: string) => ['query ($id: ID) { user(id: $id) { id } }', { id: value }] as const],
    ['an inline global ID that holds no object', (value: string) => [`{ user(id: "${value}") { id } }`, {}] as const],
  ])('%s', async (_label, request) => {
    const value = secret('value');
    const [query, variables] = request(value);
    const response = await server.graphql(query, { variables, headers: { 'x-request-id': 'client-1' } });
    expect(codesOf(response.body)).toEqual(['BAD_USER_INPUT']);
    expect(JSON.stringify(response.body.errors)).toContain(value);
    expectInNoLine(value);
    const { request: line, errorLines } = linesOf('client-1');
    expect(line?.errors).toEqual(['BAD_USER_INPUT']);
    for (const entry of errorLines) expect(entry.err?.message).toBe(WITHHELD_MESSAGE);
  });
});

describe('errors logged outside a request (the key sweep, pool and listener errors in main.ts)', () => {
  /**
   * A real failed statement whose every part holds the value: drizzle's message and `params`, PGlite's `params`,
   * PostgreSQL's message (a data exception) and, with log_parameter_max_length_on_error, its `where`.
   */
  async function failedStatement(value: string): Promise<Error> {
    try {
      await server.database.db.transaction(async (tx) => {
        await tx.execute(sql`set local log_parameter_max_length_on_error = -1`);
        await tx.execute(sql`select ${value}::int as n`);
      });
    } catch (error) {
      return error as Error;
    }
    throw new Error('the statement did not fail');
  }

  it('in every form a caller logs it', async () => {
    const value = secret('param');
    const error = await failedStatement(value);
    // (Control: the error does carry the value, in its message and its cause's `where`.)
    expect(error.message).toContain(value);
    expect((error.cause as { where?: string }).where).toContain(value);

    logger.error(error);
    logger.warn({ err: error }, 'removing expired idempotency keys failed; the next sweep retries');
    logger.warn({ err: error });
    logger.warn({ err: error }, undefined);
    logger.error({ failure: error, others: [error] }, 'a field of any name');
    logger.error({ err: new Error('the sweep failed', { cause: error }) }, 'a failed query as a cause');
    logger.child({ err: error }).info('bound to a child logger');

    expect(lines).toHaveLength(7);
    expectInNoLine(value);
    expect(lines.join('')).not.toMatch(/"params"|"where"|"detail"|queryOptions/);
    const errors = entries().flatMap((entry) => Object.values(entry as unknown as Record<string, unknown>).flatMap((field): unknown[] => (Array.isArray(field) ? (field as unknown[]) : [field])));
    const failed = errors.flatMap((field) => chain(field as LoggedError)).filter((err) => err?.type === 'DrizzleQueryError');
    expect(failed).toHaveLength(8);
    for (const err of failed) {
      expect(err).toMatchObject({ message: 'Failed query: select $1::int as n', sql: 'select $1::int as n' });
      expect(err.cause).toMatchObject({ code: '22P02', message: 'invalid input syntax for type integer: "…"' });
      expect(err.cause).not.toHaveProperty('sql');
    }
    // pino's msg, taken from the error's message when the call gives none, is the cleaned message.
    expect(entries().map((entry) => entry.msg)).toEqual([
      'Failed query: select $1::int as n',
      'removing expired idempotency keys failed; the next sweep retries',
      'Failed query: select $1::int as n',
      'Failed query: select $1::int as n',
      'a field of any name',
      'a failed query as a cause',
      'bound to a child logger',
    ]);
  });

  it('graphql-js\' own coercion error, logged as yoga logs what the mask replaced', () => {
    const value = secret('value');
    const operation = parse('query ($n: Int) { posts(first: $n) { edges { cursor } } }').definitions[0] as OperationDefinitionNode;
    const { errors } = getVariableValues(schema, operation.variableDefinitions ?? [], { n: value });
    expect(errors?.[0]?.message).toContain(value);
    logger.error(errors![0]);
    expectInNoLine(value);
    expect(entries()[0]).toMatchObject({ msg: WITHHELD_MESSAGE, err: { type: 'GraphQLError', message: WITHHELD_MESSAGE } });
  });
});
