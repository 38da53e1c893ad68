/**
 * The hostile requests of issue 22, each as it was first seen against a production instance (NODE_ENV=production,
 * trusted documents, its own JWT settings) on the node:http stack main.ts serves. Each failed before the fix: a 500,
 * a stack trace, a request routed by its Host onto /graphql, a media type matched by case, a token valid for ever,
 * the JSON parser's error echoed back. Requests go out through node:http with `setHost: false`, which sends the
 * Host header as given (fetch would refuse or rewrite it). The slow and stalled clients are in slow-clients.test.ts.
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { codesOf, expectNoInternals } from '../helpers/assertions.js';
import { createPosts, createUser } from '../helpers/factories.js';
import { listenLikeMain, type HttpServer } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { readFileSync } from 'node:fs';
import type { ApolloManifest } from '../../src/persisted/manifest.js';

const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
const trustedId = (name: string) => manifest.operations.find((operation) => operation.name === name)!.id;

const JWT = { JWT_SECRET: 'hostile-http-test-secret-0123456789abcdef', JWT_ISSUER: 'tally-test', JWT_AUDIENCE: 'tally-test-api' };

const lines: string[] = [];
let server: TestServer;
let http: HttpServer;
let port: number;
let viewerId: number;

beforeAll(async () => {
  const logger = createLogger({ logLevel: 'info' }, { write: (line: string) => void lines.push(line) });
  server = await startTestServer({ NODE_ENV: 'production', ...JWT }, logger);
  http = await listenLikeMain(server);
  port = (http.http.address() as AddressInfo).port;
  const author = await createUser(server.database.db, { username: 'writer' });
  viewerId = author.id;
  await createPosts(server.database.db, [{ authorId: author.id }, { authorId: author.id }]);
});
afterAll(async () => {
  await http.close();
  await server.close();
});
beforeEach(() => {
  lines.length = 0;
  server.statements.reset();
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One request as written: the target and every header (Host included) exactly as given. */
function send(method: string, target: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: '127.0.0.1', port, method, path: target, headers, setHost: false, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const json = (answer: Answer) => JSON.parse(answer.text) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** A clean refusal: the status, JSON saying the code, no internals, no error-level log line, no SQL. */
function expectRefused(answer: Answer, status: number, code: string) {
  expect(answer.status, answer.text.slice(0, 300)).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/(graphql-response\+)?json/);
  expectNoInternals(answer.text);
  expect(codesOf(json(answer))).toEqual([code]);
  expect(lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50)).toEqual([]);
  expect(server.statements.count).toBe(0);
}

const NEWEST_POSTS = () => trustedId('NewestPosts');
const getById = (id: string, variables: string) => `/graphql?documentId=${id}&variables=${variables}`;

describe('1. variables nested thousands deep over GET', () => {
  it('is 400 VARIABLES_TOO_DEEP, not a 500 from the response cache key (RangeError)', async () => {
    // Raw brackets: 5,000 deep fits in node's 16 KB of request head.
    const deep = `%7B%22first%22:2,%22x%22:${'['.repeat(5_000)}${']'.repeat(5_000)}%7D`;
    expectRefused(await send('GET', getById(NEWEST_POSTS(), deep), { host: 'localhost', accept: 'application/json' }), 400, 'VARIABLES_TOO_DEEP');
  });

  it('is refused over POST too, and extensions are held to the same depth', async () => {
    // Written as text: JSON.stringify itself overflows on 50,000 levels.
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const headers = { host: 'localhost', 'content-type': 'application/json' };
    const variables = `{"documentId":"${NEWEST_POSTS()}","variables":{"first":2,"x":${nested(50_000)}}}`;
    expectRefused(await send('POST', '/graphql', headers, variables), 400, 'VARIABLES_TOO_DEEP');
    const extensions = `{"documentId":"${NEWEST_POSTS()}","variables":{"first":2},"extensions":{"x":${nested(32)}}}`;
    expectRefused(await send('POST', '/graphql', headers, extensions), 400, 'VARIABLES_TOO_DEEP');
  });

  it('still runs the operation with variables 32 deep', async () => {
    const deep = `%7B%22first%22:2,%22x%22:${'['.repeat(31)}${']'.repeat(31)}%7D`;
    const answer = await send('GET', getById(NEWEST_POSTS(), deep), { host: 'localhost' });
    expect(answer.status, answer.text.slice(0, 300)).toBe(200);
  });
});

describe('2. malformed variables or extensions over GET', () => {
  it.each([
    ['variables=%7Bx', 'variables'],
    ['variables=%7B%22first%22%3A', 'variables'],
    ['variables=%7B%7Dx', 'variables'],
    ['variables=%5B1%5D', 'variables'],
    ['variables=1', 'variables'],
    ['extensions=%7Bx', 'extensions'],
    ['extensions=%22persisted%22', 'extensions'],
  ])('%s is 400 BAD_REQUEST naming the parameter, for either Accept, logged below error', async (parameter, name) => {
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const answer = await send('GET', `/graphql?documentId=${NEWEST_POSTS()}&${parameter}`, { host: 'localhost', accept });
      expectRefused(answer, 400, 'BAD_REQUEST');
      expect(json(answer).errors![0]!.message).toContain(`"${name}"`);
    }
  });
});

describe('3. a Host that is no host', () => {
  it.each(['a b', '[::1', 'x:99999', 'x@y', 'a/b', 'a?b', 'a#b', '999.1.1.1', 'a\\b', `${'a'.repeat(300)}`])(
    'Host %j is 400 BAD_REQUEST in JSON on every path, never a 500 with a stack trace',
    async (host) => {
      for (const target of ['/healthz', '/graphql', `/graphql?documentId=${NEWEST_POSTS()}`, '/nope']) {
        expectRefused(await send('GET', target, { host }), 400, 'BAD_REQUEST');
      }
    },
  );

  it('a Host only some URL parsers take (a malformed punycode label) is served or refused, never a 500', async () => {
    // Node 20's URL parser refuses `xn--a`, Node 26's takes it: the check is the parser's own word, so either way
    // nothing downstream builds a URL that throws.
    for (const target of ['/healthz', '/nope']) {
      const answer = await send('GET', target, { host: 'xn--a' });
      expect(answer.status, answer.text).toBeLessThan(500);
      expectNoInternals(answer.text);
    }
  });

  it('two Host headers are 400 (RFC 9112 3.2)', async () => {
    const answer = await new Promise<Answer>((resolve, reject) => {
      const outgoing = httpRequest({ host: '127.0.0.1', port, path: '/healthz', setHost: false, agent: false, headers: [['Host', 'localhost'], ['Host', 'other']] as unknown as Record<string, string> }, (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, text }));
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
    expectRefused(answer, 400, 'BAD_REQUEST');
  });

  it('ordinary Hosts are served: a name, a name with a port, IPv4, IPv6, none (HTTP/1.0)', async () => {
    for (const host of ['localhost', `127.0.0.1:${port}`, 'api.example.com', 'tally_api:4000', '[::1]:4000', 'example.com.']) {
      const answer = await send('GET', '/healthz', { host });
      expect(answer.status, `${host}: ${answer.text}`).toBe(200);
    }
  });
});

describe('4. the route is the path, whatever the Host', () => {
  it('GET /healthz with a Host that names /graphql runs no operation', async () => {
    const host = `127.0.0.1:${port}/graphql?documentId=${NEWEST_POSTS()}&x=`;
    expectRefused(await send('GET', '/healthz', { host }), 400, 'BAD_REQUEST');
  });

  it('POST /healthz with an operation runs nothing: 405 with Allow', async () => {
    const answer = await send('POST', '/healthz', { host: 'localhost', 'content-type': 'application/json' }, JSON.stringify({ documentId: NEWEST_POSTS() }));
    expectRefused(answer, 405, 'METHOD_NOT_ALLOWED');
    expect(answer.headers['allow']).toBe('GET, HEAD');
  });

  it.each(['/healthz/../graphql', '/graphql/', '//graphql', '/GRAPHQL', '/%67raphql', '/x/graphql', '/graphql;x'])('%s is 404: paths are matched exactly', async (path) => {
    expectRefused(await send('GET', `${path}?documentId=${NEWEST_POSTS()}`, { host: 'localhost' }), 404, 'NOT_FOUND');
  });

  it('an absolute-form target is routed by its path, its authority held to the Host rules', async () => {
    const answer = await send('GET', `http://elsewhere.example/graphql?documentId=${NEWEST_POSTS()}`, { host: 'localhost' });
    expect(answer.status, answer.text.slice(0, 200)).toBe(200);
    expect(json(answer).data).toBeTruthy();
    server.statements.reset();
    expectRefused(await send('GET', `http://elsewhere.example/healthz/../graphql?documentId=${NEWEST_POSTS()}`, { host: 'localhost' }), 404, 'NOT_FOUND');
    expectRefused(await send('GET', 'http://x:99999/healthz', { host: 'localhost' }), 400, 'BAD_REQUEST');
    expectRefused(await send('OPTIONS', '*', { host: 'localhost' }), 400, 'BAD_REQUEST');
  });
});

describe('smaller: media types, tokens, parse errors', () => {
  it('Content-Type APPLICATION/JSON (media types are case-insensitive) runs the operation', async () => {
    for (const contentType of ['APPLICATION/JSON', 'Application/Json; Charset=UTF-8']) {
      const answer = await send('POST', '/graphql', { host: 'localhost', 'content-type': contentType }, JSON.stringify({ documentId: NEWEST_POSTS(), variables: { first: 1 } }));
      expect(answer.status, answer.text.slice(0, 200)).toBe(200);
      expect((json(answer).data as { posts: { edges: unknown[] } }).posts.edges).toHaveLength(1);
    }
  });

  it('a coded body is 415 with Accept-Encoding: identity', async () => {
    const answer = await send('POST', '/graphql', { host: 'localhost', 'content-type': 'application/json', 'content-encoding': 'gzip' }, '{}');
    expectRefused(answer, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(answer.headers['accept-encoding']).toBe('identity');
  });

  it('a POST of invalid JSON is 400 without the parser error (originalError)', async () => {
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const answer = await send('POST', '/graphql', { host: 'localhost', 'content-type': 'application/json', accept }, '{"query":');
      expectRefused(answer, 400, 'BAD_REQUEST');
      expect(answer.text).not.toContain('originalError');
      expect(answer.text).not.toContain('SyntaxError');
    }
  });

  /** A token signed with the server's secret whose payload is `payload` as written (JSON can say 1e999). */
  function tokenWith(payload: string): string {
    const encode = (text: string) => Buffer.from(text).toString('base64url');
    const signed = `${encode('{"alg":"HS256","typ":"JWT"}')}.${encode(payload)}`;
    return `${signed}.${createHmac('sha256', JWT.JWT_SECRET).update(signed).digest('base64url')}`;
  }
  const claims = (rest: string) => `{"sub":"${viewerId}","iss":"${JWT.JWT_ISSUER}","aud":"${JWT.JWT_AUDIENCE}",${rest}}`;
  const viewer = (token: string) =>
    send('POST', '/graphql', { host: 'localhost', 'content-type': 'application/json', authorization: `Bearer ${token}` }, JSON.stringify({ documentId: trustedId('Viewer') }));

  it.each([
    ['exp 1e15', () => `"iat":${now()},"exp":1e15`],
    ['exp 1e999 (Infinity)', () => `"iat":${now()},"exp":1e999`],
    ['31 days from iat', () => `"iat":${now()},"exp":${now() + 31 * 86_400}`],
    ['an iat far in the future', () => `"iat":1e15,"exp":${1e15 + 60}`],
    ['no iat and 31 days from now', () => `"exp":${now() + 31 * 86_400}`],
  ])('a correctly signed token valid for too long (%s) is 401', async (_label, rest) => {
    const answer = await viewer(tokenWith(claims(rest())));
    expect(answer.status, answer.text.slice(0, 300)).toBe(401);
    expect(codesOf(json(answer))).toEqual(['UNAUTHENTICATED']);
    expect(json(answer).errors![0]!.message).toContain('longer than');
  });

  it('a token valid for 30 days, the default maximum, signs in', async () => {
    const answer = await viewer(tokenWith(claims(`"iat":${now()},"exp":${now() + 30 * 86_400}`)));
    expect(answer.status, answer.text.slice(0, 300)).toBe(200);
    expect((json(answer).data as { viewer: { username: string } }).viewer.username).toBe('writer');
  });
});

const now = () => Math.floor(Date.now() / 1000);
