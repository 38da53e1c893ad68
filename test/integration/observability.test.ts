/** The request log line and /metrics, read the way an operator reads them. */
import { request } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRow } from '../../src/db/schema.js';
import { createPost, createUser } from '../helpers/factories.js';
import { listenLikeMain } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const lines: Record<string, unknown>[] = [];
let server: TestServer;
let alice: UserRow;

beforeAll(async () => {
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  server = await startTestServer({}, logger);
  alice = await createUser(server.database.db, { username: 'alice' });
  for (let i = 0; i < 3; i += 1) await createPost(server.database.db, alice.id);
});
afterAll(() => server.close());

const POSTS = 'query NewestPosts { posts(first: 3) { edges { node { body author { name } } } } }';

describe('request log', () => {
  it('writes one line per GraphQL request with id, viewer, operation, status, duration and SQL count', async () => {
    lines.length = 0;
    const response = await server.graphql(POSTS, { as: alice.id, headers: { 'x-request-id': 'trace-42' } });
    expect(response.status).toBe(200);
    const requestLines = lines.filter((line) => line['msg'] === 'graphql request');
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({ requestId: 'trace-42', viewerId: alice.id, operation: 'NewestPosts', status: 200, sql: 1 });
    expect(requestLines[0]!['ms']).toEqual(expect.any(Number));
  });

  it('records the error codes of a failed request, and 401s', async () => {
    lines.length = 0;
    await server.graphql('query Bad { posts(first: 500) { edges { cursor } } }');
    await server.graphql(POSTS, { authorization: 'Bearer nope' });
    const requestLines = lines.filter((line) => line['msg'] === 'graphql request');
    expect(requestLines.map((line) => [line['operation'], line['status'], line['errors']])).toEqual([
      ['Bad', 200, ['BAD_USER_INPUT']],
      ['anonymous', 401, ['UNAUTHENTICATED']],
    ]);
  });
});

describe('refusals of the node:http front', () => {
  it('are logged as every other request is, and counted apart: a bad Host, an unknown path, a wrong method, a body too large', async () => {
    const http = await listenLikeMain(server);
    try {
      lines.length = 0;
      const url = new URL(http.base);
      const sent = await Promise.all([
        fetch(`${http.base}/nowhere`, { headers: { 'x-request-id': 'front-404' } }),
        fetch(`${http.base}/graphql`, { method: 'DELETE' }),
        fetch(`${http.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(200_000) }),
      ]);
      expect(sent.map((response) => response.status)).toEqual([404, 405, 413]);
      // A Host that is not a host name: over a raw request, since fetch sets its own Host.
      const badHost = await new Promise<number>((resolve, reject) => {
        request({ host: url.hostname, port: url.port, path: '/graphql', headers: { host: 'a b' } }, (response) => {
          response.resume();
          resolve(response.statusCode!);
        })
          .on('error', reject)
          .end();
      });
      expect(badHost).toBe(400);
      const requestLines = lines.filter((line) => line['msg'] === 'graphql request');
      expect(requestLines.map((line) => [line['status'], line['errors']]).sort()).toEqual(
        [
          [400, ['BAD_REQUEST']],
          [404, ['NOT_FOUND']],
          [405, ['METHOD_NOT_ALLOWED']],
          [413, ['PAYLOAD_TOO_LARGE']],
        ].sort(),
      );
      expect(requestLines.find((line) => line['status'] === 404)).toMatchObject({ requestId: 'front-404', operation: 'anonymous' });
      const text = await (await server.fetch('/metrics')).text();
      expect(text).toMatch(/tally_http_refusals_total\{status="413",code="PAYLOAD_TOO_LARGE"\} 1/);
      expect(text).toMatch(/tally_http_refusals_total\{status="404",code="NOT_FOUND"\} 1/);
      // They never reached GraphQL, whose count stays GraphQL's.
      expect(text).not.toMatch(/tally_graphql_requests_total\{operation="anonymous",status="413"\}/);
    } finally {
      await http.close();
    }
  });
});

describe('/metrics', () => {
  it('exposes request counts, durations, SQL statements per request and process metrics', async () => {
    await server.graphql(POSTS);
    const response = await server.fetch('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/tally_graphql_requests_total\{operation="NewestPosts",status="200"\} \d+/);
    expect(text).toMatch(/tally_graphql_request_duration_seconds_count\{operation="NewestPosts"\} \d+/);
    expect(text).toMatch(/tally_sql_statements_per_request_bucket\{le="2",operation="NewestPosts"\} \d+/);
    expect(text).toMatch(/tally_graphql_errors_total\{operation="Bad",code="BAD_USER_INPUT"\} 1/);
    expect(text).toContain('tally_process_resident_memory_bytes');
    expect(text).toContain('tally_nodejs_eventloop_lag_seconds');
  });

  it('bounds the operation label: a flood of distinct names cannot grow it without end', async () => {
    for (let i = 0; i < 210; i += 1) await server.graphql(`query Op${i} { posts(first: 1) { edges { cursor } } }`);
    const text = await (await server.fetch('/metrics')).text();
    expect(text).toMatch(/tally_graphql_requests_total\{operation="other",status="200"\} \d+/);
    const names = new Set([...text.matchAll(/tally_graphql_requests_total\{operation="([^"]+)"/g)].map((m) => m[1]));
    expect(names.size).toBeLessThanOrEqual(201);
  });
});
