/**
 * Which errors are the infrastructure's (src/db/faults.ts), for the shapes the integration tests cannot all bring
 * about on one machine: PgBouncer's own refusals, a failover's read-only standby, a resolver error wrapping a
 * driver error wrapping a system error, a connection refused on every address of a host.
 */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { faultOf } from '../../src/db/faults.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('faultOf', () => {
  it.each([
    ['statement timeout', withCode('canceling statement due to statement timeout', '57014'), 'TIMEOUT'],
    ['lock timeout', withCode('canceling statement due to lock timeout', '55P03'), 'TIMEOUT'],
    ["the driver's read timeout", new Error('Query read timeout'), 'TIMEOUT'],
    ['pool wait', new Error('timeout exceeded when trying to connect'), 'SERVICE_UNAVAILABLE'],
    ['connect timeout', new Error('Connection terminated due to connection timeout'), 'SERVICE_UNAVAILABLE'],
    ['connection lost', new Error('Connection terminated unexpectedly'), 'SERVICE_UNAVAILABLE'],
    ["PgBouncer's refusal", withCode('no more connections allowed (max_client_conn)', '08P01'), 'SERVICE_UNAVAILABLE'],
    ["PgBouncer's query_wait_timeout", withCode('query_wait_timeout', '08P01'), 'SERVICE_UNAVAILABLE'],
    ['server shutting down', withCode('terminating connection due to administrator command', '57P01'), 'SERVICE_UNAVAILABLE'],
    ['server starting up', withCode('the database system is starting up', '57P03'), 'SERVICE_UNAVAILABLE'],
    ['too many connections', withCode('sorry, too many clients already', '53300'), 'SERVICE_UNAVAILABLE'],
    ['a standby after failover', withCode('cannot execute INSERT in a read-only transaction', '25006'), 'SERVICE_UNAVAILABLE'],
    ['refused', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), 'SERVICE_UNAVAILABLE'],
  ])('%s', (_label, error, code) => {
    expect(faultOf(error)).toBe(code);
  });

  it('reads through drizzle, graphql-js and AggregateError', () => {
    const refused = new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], '');
    const drizzle = new Error('Failed query: select 1\nparams: ', { cause: refused });
    const located = new GraphQLError('Failed query: select 1', { originalError: drizzle });
    expect(faultOf(located)).toBe('SERVICE_UNAVAILABLE');
  });

  it.each([
    ['a unique violation', withCode('duplicate key value violates unique constraint "users_username_key"', '23505')],
    ['a missing table', withCode('relation "users" does not exist', '42P01')],
    ['a data exception', withCode('invalid input syntax for type integer: "x"', '22P02')],
    ['a pool closed by this process', new Error('Cannot use a pool after calling end on the pool')],
    ['a client error', new GraphQLError('Invalid global ID', { extensions: { code: 'BAD_USER_INPUT' } })],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['not an error', 'ECONNREFUSED'],
  ])('%s is not a fault', (_label, error) => {
    expect(faultOf(error)).toBeUndefined();
  });
});
