import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApolloManifest } from '../../src/persisted/manifest.js';
import { withCost } from '../helpers/assertions.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Redis is checked too where the suite runs on it (a check that degrades, see redis-outage.test.ts). */
const withRedis = (status: string) => (process.env['REDIS_URL'] ? { redis: status } : {});

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('/healthz and /readyz', () => {
  it('GET /healthz → 200 {status: "ok"}, not cached', async () => {
    const response = await server.fetch('/healthz');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz → 200 with the database ok', async () => {
    const response = await server.fetch('/readyz');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ status: 'ready', checks: { database: 'ok', ...withRedis('ok') } });
  });

  it('/healthz costs no SQL', async () => {
    server.statements.reset();
    await server.fetch('/healthz');
    expect(server.statements.count).toBe(0);
  });

  describe('when the database is gone', () => {
    let broken: TestServer;
    beforeAll(async () => {
      broken = await startTestServer();
      await broken.close();
    });

    it('/readyz → 503 naming the database, /healthz still 200', async () => {
      const ready = await broken.fetch('/readyz');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'not ready', checks: { database: 'unavailable', ...withRedis('unavailable') } });
      const alive = await broken.fetch('/healthz');
      expect(alive.status).toBe(200);
    });
  });
});

const CDN_HOSTS = /unpkg\.com|jsdelivr\.net|cdnjs\.cloudflare\.com|esm\.sh|skypack\.dev|googleapis\.com|gstatic\.com|jspm\.io|esm\.run|cdn\.graphql/i;

describe('GraphiQL', () => {
  let html: string;
  let response: Response;
  beforeAll(async () => {
    response = await server.fetch('/graphql', { headers: { accept: 'text/html' } });
    html = await response.text();
  });

  it('is served at /graphql to a browser outside production', () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toMatch(/<title>Tally<\/title>/);
    expect(html).toMatch(/graphiql/i);
  });

  it('loads nothing from a CDN: no external script or stylesheet, no CDN host anywhere', () => {
    const external = [...html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']?((?:https?:)?\/\/[^"'\s>]+)/gi)].map((match) => match[1]);
    expect(external).toEqual([]);
    expect(html.match(CDN_HOSTS)).toBeNull();
    expect(html).not.toMatch(/import\(\s*["'`](?:https?:)?\/\//);
    expect(html).not.toMatch(/@import\s+(?:url\()?["']?(?:https?:)?\/\//);
  });

  it('carries no token when none was configured', () => {
    expect(html).not.toMatch(/Bearer ey/);
  });
});

describe('in production', () => {
  let production: TestServer;
  beforeAll(async () => {
    production = await startTestServer({
      NODE_ENV: 'production',
      JWT_SECRET: 'a-production-secret-of-at-least-32-chars',
      JWT_ISSUER: 'tally',
      JWT_AUDIENCE: 'tally-api',
    });
  });
  afterAll(() => production.close());

  it('does not serve GraphiQL', async () => {
    const response = await production.fetch('/graphql', { headers: { accept: 'text/html' } });
    expect(response.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    const body = await response.text();
    expect(body).not.toMatch(/<html|graphiql/i);
  });

  it('still answers GraphQL (its trusted documents, by id) and health checks', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
    const viewer = manifest.operations.find((operation) => operation.name === 'Viewer')!;
    const response = await production.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ documentId: viewer.id }) });
    expect(await response.json()).toEqual(withCost({ data: { viewer: null } }));
    expect((await production.fetch('/healthz')).status).toBe(200);
  });
});

describe('paths other than Tally\'s', () => {
  it.each(['/graphql/', '/x/graphql', '/api/graphql', '/', '/nope'])('%s is 404, and runs no GraphQL', async (path) => {
    server.statements.reset();
    const response = await server.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ posts(first: 1) { edges { cursor } } }' }),
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('NOT_FOUND');
    expect(server.statements.count).toBe(0);
  });
});
