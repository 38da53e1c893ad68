/** The node:http entry (src/http/body.ts) in front of the real server, over a real socket. */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, withParsedJsonBody } from '../../src/http/body.js';
import { frontRefusals } from '../../src/http/errors.js';
import { createBodyBudget } from '../../src/http/body-budget.js';
import { withCost } from '../helpers/assertions.js';
import { createPost, createUser } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let http: Server;
let base: string;

beforeAll(async () => {
  server = await startTestServer();
  const author = await createUser(server.database.db, { username: 'writer' });
  await createPost(server.database.db, author.id, { body: 'hello' });
  const budget = createBodyBudget({ total: server.config.http.bodyBytesInFlight, perClient: server.config.http.bodyBytesInFlightPerClient });
  http = createServer(withParsedJsonBody(server.yoga, { budget, clientAddress: server.clientAddress, refuse: frontRefusals() }));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await new Promise((resolve) => http.close(resolve));
  await server.close();
});

const post = (body: string, contentType = 'application/json', headers: Record<string, string> = {}) =>
  fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/json', ...headers }, body });

describe('JSON bodies read before yoga', () => {
  it('answers a query, with its request id', async () => {
    const response = await post(JSON.stringify({ query: '{ posts(first: 1) { edges { node { body author { username } } } } }' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(await response.json()).toEqual(withCost({ data: { posts: { edges: [{ node: { body: 'hello', author: { username: 'writer' } } }] } } }));
  });

  it('passes variables and operation names through', async () => {
    const response = await post(
      JSON.stringify({ query: 'query A { viewer { username } } query B($n: Int) { posts(first: $n) { edges { cursor } } }', operationName: 'B', variables: { n: 1 } }),
    );
    const body = (await response.json()) as { data: { posts: { edges: unknown[] } } };
    expect(body.data.posts.edges).toHaveLength(1);
  });

  it.each([
    ['malformed JSON', '{"query": "{ po'],
    ['an empty body', ''],
    ['a JSON string', '"{ posts { edges { cursor } } }"'],
  ])('answers %s with 400 and a GraphQL error, as yoga does', async (_label, body) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: unknown[] }).errors.length).toBeGreaterThan(0);
  });

  it(`refuses a body above ${MAX_BODY_BYTES / 1024} KB with 413`, async () => {
    const response = await post(JSON.stringify({ query: `{ posts { edges { cursor } } } #${'x'.repeat(MAX_BODY_BYTES)}` }), 'application/json', { 'x-request-id': 'big-1' });
    expect(response.status).toBe(413);
    // Written on the node:http layer as yoga would: JSON, its length, the client's request id; then closed.
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('x-request-id')).toBe('big-1');
    expect(response.headers.get('connection')).toBe('close');
    const text = await response.text();
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    expect(JSON.parse(text)).toEqual({ errors: [{ message: `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
  });

  it('leaves other requests to yoga (GET with a query string, other content types)', async () => {
    const get = await fetch(`${base}/graphql?query=${encodeURIComponent('{ posts(first: 1) { edges { cursor } } }')}`, { headers: { accept: 'application/json' } });
    expect(get.status).toBe(200);
    expect((await post('{}', 'text/plain')).status).toBe(415);
  });
});
