/**
 * Serving persisted operations: by id in every spelling clients use, over POST and GET, in trusted mode (only
 * the manifests' documents) and open mode (automatic persisted queries and any document), with the refusals a
 * client can act on. Two servers given one Redis prefix stand for two instances sharing registrations.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { posts } from '../../src/db/schema.js';
import { sha256Hex, type ApolloManifest } from '../../src/persisted/manifest.js';
import { createPosts, createUser } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
const operation = (name: string) => manifest.operations.find((each) => each.name === name)!;
const newestPosts = operation('NewestPosts');

interface Body {
  data?: { posts?: { edges: { node: { body: string } }[] } } | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

const post = (server: TestServer, body: unknown, headers: Record<string, string> = {}) =>
  server.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers }, body: JSON.stringify(body) });
const get = (server: TestServer, params: Record<string, string>, headers: Record<string, string> = {}) =>
  server.fetch(`/graphql?${new URLSearchParams(params).toString()}`, { headers: { accept: 'application/graphql-response+json', ...headers } });
const read = async (response: Response) => ({ status: response.status, body: (await response.json()) as Body });
const codeOf = (body: Body) => body.errors?.[0]?.extensions?.code;

describe('trusted mode', () => {
  let server: TestServer;
  let viewerId: number;

  beforeAll(async () => {
    server = await startTestServer({ PERSISTED_OPERATIONS: 'trusted' });
    const author = await createUser(server.database.db);
    viewerId = author.id;
    await createPosts(server.database.db, [{ authorId: author.id, body: 'trusted first' }, { authorId: author.id, body: 'trusted second' }]);
  });
  afterAll(() => server?.close());

  it.each([
    ['documentId', { documentId: newestPosts.id }],
    ["Relay's doc_id", { doc_id: newestPosts.id }],
    ["Relay's id", { id: newestPosts.id }],
    ["Apollo's extensions.persistedQuery", { extensions: { persistedQuery: { version: 1, sha256Hash: newestPosts.id } } }],
  ])('runs a trusted document by %s over POST', async (_, body) => {
    const { status, body: result } = await read(await post(server, { ...body, variables: { first: 2 } }));
    expect(result.errors).toBeUndefined();
    expect(status).toBe(200);
    expect(result.data!.posts!.edges.map((edge) => edge.node.body)).toHaveLength(2);
  });

  it('runs a trusted document by documentId over GET, and by the APQ GET form', async () => {
    for (const params of <Record<string, string>[]>[
      { documentId: newestPosts.id, variables: JSON.stringify({ first: 1 }) },
      { extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: newestPosts.id } }), variables: JSON.stringify({ first: 1 }) },
    ]) {
      const { status, body } = await read(await get(server, params));
      expect(body.errors).toBeUndefined();
      expect(status).toBe(200);
      expect(body.data!.posts!.edges).toHaveLength(1);
    }
  });

  it('runs a trusted document sent in full, whose text is in the manifest', async () => {
    const { status, body } = await read(await post(server, { query: newestPosts.body, variables: { first: 1 } }));
    expect(body.errors).toBeUndefined();
    expect(status).toBe(200);
  });

  it('refuses any other document before it is parsed, with PERSISTED_QUERY_ONLY', async () => {
    for (const query of ['{ posts(first: 1) { edges { node { id } } } }', 'this is not GraphQL']) {
      const { status, body } = await read(await post(server, { query }));
      expect(status).toBe(400);
      expect(codeOf(body)).toBe('PERSISTED_QUERY_ONLY');
      expect(body.data).toBeUndefined();
    }
  });

  it('refuses an APQ registration of a document outside the manifests', async () => {
    const query = '{ posts(first: 3) { edges { node { id } } } }';
    const { status, body } = await read(await post(server, { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(query) } } }));
    expect(status).toBe(400);
    expect(codeOf(body)).toBe('PERSISTED_QUERY_ONLY');
    const again = await read(await post(server, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(query) } } }));
    expect(codeOf(again.body)).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('answers an unknown id with 404 PERSISTED_QUERY_NOT_FOUND, and a malformed one with 400', async () => {
    const unknown = await read(await post(server, { documentId: 'f'.repeat(64) }));
    expect(unknown.status).toBe(404);
    expect(codeOf(unknown.body)).toBe('PERSISTED_QUERY_NOT_FOUND');
    for (const documentId of [42, '', 'x'.repeat(129), { $gt: '' }]) {
      const malformed = await read(await post(server, { documentId }));
      expect(malformed.status).toBe(400);
      expect(codeOf(malformed.body)).toBe('PERSISTED_QUERY_ID_INVALID');
    }
  });

  it('never runs a persisted mutation over GET (405), and runs it over POST', async () => {
    const createPost = operation('CreatePost');
    const token = await server.tokenFor(viewerId);
    const variables = JSON.stringify({ input: { body: 'over GET' } });
    const overGet = await get(server, { documentId: createPost.id, variables }, { authorization: `Bearer ${token}` });
    expect(overGet.status).toBe(405);
    const overPost = await read(await post(server, { documentId: createPost.id, variables: { input: { body: 'over POST' } } }, { authorization: `Bearer ${token}` }));
    expect(overPost.body.errors).toBeUndefined();
    const rows = await server.database.db.select({ body: posts.body }).from(posts).where(eq(posts.authorId, viewerId));
    expect(rows.map((row) => row.body).sort()).toEqual(['over POST', 'trusted first', 'trusted second'].sort());
  });

  it('holds persisted documents to the limits: a page too large is refused as any document would be', async () => {
    const { body } = await read(await post(server, { documentId: newestPosts.id, variables: { first: 5000 } }));
    expect(body.errors?.length).toBeGreaterThan(0);
    expect(body.data?.posts ?? null).toBeNull();
  });
});

describe('open mode: automatic persisted queries', () => {
  const prefix = `tally:test:${randomUUID()}:`;
  let first: TestServer;
  let second: TestServer;

  beforeAll(async () => {
    // Two servers over one Redis prefix, as two instances; without REDIS_URL each has its own store, so the
    // sharing assertion below is made only when Redis is there.
    first = await startTestServer({ PERSISTED_OPERATIONS: 'open' }, undefined, { redisPrefix: prefix });
    second = await startTestServer({ PERSISTED_OPERATIONS: 'open' }, undefined, { redisPrefix: prefix });
    await createPosts(first.database.db, [{ authorId: (await createUser(first.database.db)).id, body: 'apq' }]);
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
  });

  it('answers an unknown hash PersistedQueryNotFound, registers the document sent with it, then runs it by hash', async () => {
    const query = `{ posts(first: 1) { edges { node { body } } } } # ${randomUUID()}`;
    const persistedQuery = { version: 1, sha256Hash: sha256Hex(query) };
    const miss = await read(await post(first, { extensions: { persistedQuery } }));
    expect(miss.status).toBe(404);
    expect(miss.body.errors?.[0]?.message).toBe('PersistedQueryNotFound');
    expect(codeOf(miss.body)).toBe('PERSISTED_QUERY_NOT_FOUND');

    const registration = await read(await post(first, { query, extensions: { persistedQuery } }));
    expect(registration.body.errors).toBeUndefined();

    const byHash = await read(await get(first, { extensions: JSON.stringify({ persistedQuery }) }));
    expect(byHash.body.errors).toBeUndefined();
    expect(byHash.body.data!.posts!.edges).toHaveLength(1);

    if (process.env['REDIS_URL']) {
      const onTheOther = await read(await post(second, { extensions: { persistedQuery } }));
      expect(onTheOther.body.errors).toBeUndefined();
    }
  });

  it('refuses a registration whose hash is not the sha256 of its document, and keeps nothing', async () => {
    const query = '{ posts(first: 1) { edges { node { id } } } }';
    const persistedQuery = { version: 1, sha256Hash: sha256Hex('something else') };
    const mismatch = await read(await post(first, { query, extensions: { persistedQuery } }));
    expect(mismatch.status).toBe(400);
    expect(codeOf(mismatch.body)).toBe('PERSISTED_QUERY_HASH_MISMATCH');
    expect(mismatch.body.data).toBeUndefined();
    expect(codeOf((await read(await post(first, { extensions: { persistedQuery } }))).body)).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('keeps only registrations whose document validates, and only APQ version 1', async () => {
    const query = `{ noSuchField } # ${randomUUID()}`;
    const persistedQuery = { version: 1, sha256Hash: sha256Hex(query) };
    const invalid = await read(await post(first, { query, extensions: { persistedQuery } }));
    expect(codeOf(invalid.body)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(codeOf((await read(await post(first, { extensions: { persistedQuery } }))).body)).toBe('PERSISTED_QUERY_NOT_FOUND');
    const version2 = await read(await post(first, { extensions: { persistedQuery: { version: 2, sha256Hash: newestPosts.id } } }));
    expect(version2.status).toBe(400);
    expect(codeOf(version2.body)).toBe('PERSISTED_QUERY_ID_INVALID');
  });

  it('still runs trusted documents by id and arbitrary documents', async () => {
    expect((await read(await post(first, { documentId: newestPosts.id }))).body.errors).toBeUndefined();
    expect((await read(await post(first, { query: '{ posts(first: 1) { edges { cursor } } }' }))).body.errors).toBeUndefined();
  });

  it('holds a registered document to the limits when it runs', async () => {
    const query = `{ a: posts(first: 100) { edges { node { author { followers(first: 100) { edges { node { followers(first: 100) { edges { node { id } } } } } } } } } } }`;
    const persistedQuery = { version: 1, sha256Hash: sha256Hex(query) };
    const { body } = await read(await post(first, { query, extensions: { persistedQuery } }));
    expect(codeOf(body)).toBe('COST_LIMIT_EXCEEDED');
  });
});
