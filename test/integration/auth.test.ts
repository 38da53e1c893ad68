import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVELOPMENT_JWT_SECRET } from '../../src/config.js';
import type { UserRow } from '../../src/db/schema.js';
import { expectNoInternals, withCost } from '../helpers/assertions.js';
import { createUser } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const QUERY = '{ viewer { username } posts(first: 1) { pageInfo { hasNextPage } } }';
const encode = (secret: string) => new TextEncoder().encode(secret);

interface Mint {
  sub?: string | undefined;
  issuer?: string;
  audience?: string;
  /** Expiry in seconds since the epoch; undefined: none. */
  exp?: number | undefined;
  alg?: string;
  secret?: string;
}

const now = () => Math.floor(Date.now() / 1000);

/** An HS-signed token like the server's own, with one thing changed. */
async function mint(overrides: Mint = {}): Promise<string> {
  const { sub, issuer = 'tally', audience = 'tally-api', alg = 'HS256', secret = DEVELOPMENT_JWT_SECRET } = overrides;
  const exp = 'exp' in overrides ? overrides.exp : now() + 3600;
  const jwt = new SignJWT({}).setProtectedHeader({ alg, typ: 'JWT' }).setIssuer(issuer).setAudience(audience).setIssuedAt(now() - 10);
  if (sub !== undefined) jwt.setSubject(sub);
  if (exp !== undefined) jwt.setExpirationTime(exp);
  return jwt.sign(encode(secret));
}

/** Checks the response is the documented 401: a GraphQL error, a challenge, and no data at all. */
async function expectUnauthorized(response: Response, token?: string): Promise<string> {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
  expect(response.headers.get('content-type')).toMatch(/json/);
  const text = await response.text();
  const body = JSON.parse(text) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  expect(body).not.toHaveProperty('data');
  expect(body.errors).toHaveLength(1);
  expect(body.errors![0]!.message).toEqual(expect.any(String));
  expect(body.errors![0]!.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  if (token) expect(text, 'the error echoes the token').not.toContain(token);
  expectNoInternals(text);
  return body.errors![0]!.message;
}

let server: TestServer;
let alice: UserRow;

beforeAll(async () => {
  server = await startTestServer();
  alice = await createUser(server.database.db, { username: 'alice' });
});
afterAll(() => server.close());

const post = (authorization: string | undefined, query = QUERY) =>
  server.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(authorization === undefined ? {} : { authorization }) },
    body: JSON.stringify({ query }),
  });

describe('without an Authorization header', () => {
  it('is anonymous: public fields answer and viewer is null', async () => {
    const response = await server.graphql<{ viewer: null; posts: unknown }>(QUERY);
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({ viewer: null, posts: { pageInfo: { hasNextPage: false } } });
  });
});

describe('with a valid token', () => {
  it('the viewer is the token\'s user', async () => {
    const response = await server.graphql<{ viewer: { username: string } }>('{ viewer { id username } }', { as: alice.id });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.viewer).toMatchObject({ username: 'alice' });
  });

  it('accepts the scheme in any case (RFC 7235)', async () => {
    const token = await server.tokenFor(alice.id);
    const response = await server.graphql<{ viewer: { username: string } }>('{ viewer { username } }', { authorization: `bearer ${token}` });
    expect(response.body.data?.viewer).toEqual({ username: 'alice' });
  });

  it('is accepted on GET too', async () => {
    const token = await server.tokenFor(alice.id);
    const response = await server.fetch(`/graphql?query=${encodeURIComponent('{ viewer { username } }')}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    // A cacheable answer over GET is kept as it is sent, so it carries no per-request cost report.
    expect(await response.json()).toEqual({ data: { viewer: { username: 'alice' } } });
  });
});

describe('a present but unusable Authorization header is a 401, never anonymous', () => {
  it.each([
    ['an empty header', ''],
    ['"Bearer" alone', 'Bearer'],
    ['"Bearer " with no token', 'Bearer '],
    ['another scheme', 'Basic xyz'],
    ['a token without a scheme', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln'],
    ['not a JWT', 'Bearer not.a.jwt'],
    ['a token with characters outside token68', 'Bearer abc<def>.ghi'],
  ])('%s', async (_label, header) => {
    await expectUnauthorized(await post(header));
  });

  it('(control: the hand-minted token these cases alter is accepted as it is)', async () => {
    const response = await post(`Bearer ${await mint({ sub: String(alice.id) })}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { viewer: { username: 'alice' } } });
  });

  it('an expired token', async () => {
    const token = await mint({ sub: String(alice.id), exp: now() - 120 });
    const message = await expectUnauthorized(await post(`Bearer ${token}`), token);
    expect(message).toMatch(/exp/);
  });

  it('a token without an expiry', async () => {
    const token = await mint({ sub: String(alice.id), exp: undefined });
    await expectUnauthorized(await post(`Bearer ${token}`), token);
  });

  it('a token signed with another secret', async () => {
    const token = await mint({ sub: String(alice.id), secret: 'another-secret-that-is-certainly-32-characters' });
    const message = await expectUnauthorized(await post(`Bearer ${token}`), token);
    expect(message).toMatch(/signature/);
  });

  it('a token whose signature was tampered with', async () => {
    const token = await server.tokenFor(alice.id);
    const [header, payload, signature] = token.split('.');
    const flipped = `${signature!.slice(0, -2)}${signature!.endsWith('AA') ? 'BB' : 'AA'}`;
    await expectUnauthorized(await post(`Bearer ${header}.${payload}.${flipped}`));
  });

  it('a token whose payload was swapped for another user\'s (signature no longer matches)', async () => {
    const token = await server.tokenFor(alice.id);
    const [header, , signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: '1', iss: 'tally', aud: 'tally-api', exp: now() + 3600 })).toString('base64url');
    await expectUnauthorized(await post(`Bearer ${header}.${forged}.${signature}`));
  });

  it('a token from another issuer', async () => {
    const token = await mint({ sub: String(alice.id), issuer: 'someone-else' });
    const message = await expectUnauthorized(await post(`Bearer ${token}`), token);
    expect(message).toMatch(/iss/);
  });

  it('a token for another audience', async () => {
    const token = await mint({ sub: String(alice.id), audience: 'another-api' });
    const message = await expectUnauthorized(await post(`Bearer ${token}`), token);
    expect(message).toMatch(/aud/);
  });

  it('an unsigned token (alg "none")', async () => {
    const token = new UnsecuredJWT({}).setSubject(String(alice.id)).setIssuer('tally').setAudience('tally-api').setExpirationTime('1h').encode();
    await expectUnauthorized(await post(`Bearer ${token}`), token);
  });

  it('a token signed with the right secret but another HMAC algorithm (HS512)', async () => {
    const token = await mint({ sub: String(alice.id), alg: 'HS512' });
    await expectUnauthorized(await post(`Bearer ${token}`), token);
  });

  // 9007199254740992 and …993 are above Number.MAX_SAFE_INTEGER: as numbers both would read as …992, another id.
  it.each([['demo'], ['alice'], ['0'], ['-1'], ['1.5'], ['1e3'], [' 1'], ['01'], ['12345678901234567'], ['9007199254740992'], ['9007199254740993']])(
    'a token whose sub is %j, not a user id',
    async (sub) => {
      const token = await mint({ sub });
      await expectUnauthorized(await post(`Bearer ${token}`), token);
    },
  );

  it('a token without a sub', async () => {
    const token = await mint({});
    await expectUnauthorized(await post(`Bearer ${token}`), token);
  });

  it('even when the query only asks for public fields, and on GET', async () => {
    await expectUnauthorized(await post('Bearer not.a.jwt', '{ posts(first: 1) { pageInfo { hasNextPage } } }'));
    await expectUnauthorized(
      await server.fetch(`/graphql?query=${encodeURIComponent('{ posts(first: 1) { pageInfo { hasNextPage } } }')}`, {
        headers: { accept: 'application/json', authorization: 'Bearer not.a.jwt' },
      }),
    );
  });

  it('answers 401 with application/graphql-response+json too', async () => {
    const response = await server.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: 'Bearer not.a.jwt' },
      body: JSON.stringify({ query: QUERY }),
    });
    await expectUnauthorized(response);
  });
});

describe('JWKS mode (an identity provider\'s keys)', () => {
  const ISSUER = 'https://idp.example.test/';
  const AUDIENCE = 'tally-jwks-test';
  let jwks: Server;
  let jwksRequests = 0;
  let jwksServer: TestServer;
  let bob: UserRow;
  let signingKey: CryptoKey;
  let otherKey: CryptoKey;

  const sign = (key: CryptoKey, fields: { kid?: string; sub?: string; issuer?: string; audience?: string; alg?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: fields.alg ?? 'ES256', kid: fields.kid ?? 'tally-test-key' })
      .setSubject(fields.sub ?? String(bob.id))
      .setIssuer(fields.issuer ?? ISSUER)
      .setAudience(fields.audience ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    signingKey = pair.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'tally-test-key', alg: 'ES256', use: 'sig' };
    jwks = createServer((request, response) => {
      jwksRequests += 1;
      if (request.url === '/.well-known/jwks.json') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    jwksServer = await startTestServer({
      JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
    bob = await createUser(jwksServer.database.db, { username: 'bob' });
  });
  afterAll(async () => {
    await jwksServer?.close();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  const ask = (authorization: string) =>
    jwksServer.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization },
      body: JSON.stringify({ query: '{ viewer { username } }' }),
    });

  it('accepts a token signed with the published key, fetching the key set once', async () => {
    for (let i = 0; i < 3; i += 1) {
      const response = await ask(`Bearer ${await sign(signingKey)}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(withCost({ data: { viewer: { username: 'bob' } } }));
    }
    expect(jwksRequests).toBe(1);
  });

  it('refuses a token signed with another key under the published kid', async () => {
    await expectUnauthorized(await ask(`Bearer ${await sign(otherKey)}`));
  });

  it('refuses a token signed with another key under an unknown kid', async () => {
    await expectUnauthorized(await ask(`Bearer ${await sign(otherKey, { kid: 'not-published' })}`));
  });

  it('refuses the development secret: HS256 is not accepted in JWKS mode', async () => {
    const token = await mint({ sub: String(bob.id), issuer: ISSUER, audience: AUDIENCE });
    await expectUnauthorized(await ask(`Bearer ${token}`), token);
  });

  it('checks issuer and audience with the published key too', async () => {
    await expectUnauthorized(await ask(`Bearer ${await sign(signingKey, { issuer: 'https://evil.example/' })}`));
    await expectUnauthorized(await ask(`Bearer ${await sign(signingKey, { audience: 'another-api' })}`));
  });
});

describe('in production', () => {
  let production: TestServer;
  let carol: UserRow;
  beforeAll(async () => {
    production = await startTestServer({
      NODE_ENV: 'production',
      // Open documents: this tests tokens, not which documents run.
      PERSISTED_OPERATIONS: 'open',
      JWT_SECRET: 'a-production-secret-of-at-least-32-chars',
      JWT_ISSUER: 'https://tally.example/',
      JWT_AUDIENCE: 'tally-production',
    });
    carol = await createUser(production.database.db, { username: 'carol' });
  });
  afterAll(() => production.close());

  const ask = (authorization: string) =>
    production.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization },
      body: JSON.stringify({ query: '{ viewer { username } }' }),
    });

  it('accepts tokens signed with its own secret, issuer and audience', async () => {
    const response = await ask(`Bearer ${await production.tokenFor(carol.id)}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(withCost({ data: { viewer: { username: 'carol' } } }));
  });

  it('refuses a token signed with the public development secret', async () => {
    const token = await mint({ sub: String(carol.id), issuer: 'https://tally.example/', audience: 'tally-production' });
    await expectUnauthorized(await ask(`Bearer ${token}`), token);
  });
});
