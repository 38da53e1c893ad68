/**
 * Persisted operations as real client libraries send them (issue 11), each against what its own tool built
 * (`npm run clients:build` writes test/clients/):
 *
 * - Apollo Client's persisted-queries link (automatic persisted queries, hashed queries over GET);
 * - Relay: relay-runtime runs relay-compiler's artifacts by `doc_id`, the server trusting the
 *   persisted-queries.json the compiler wrote;
 * - graphql-codegen's client preset: its typed documents run by `documentId`, the hash it wrote into each
 *   document's `__meta__`, the server trusting its persisted-documents.json.
 *
 * Every request a library makes is recorded at its `fetch`, so a test says what went over the wire, not only
 * what the library made of the answer.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, ServerError, gql, type DocumentNode } from '@apollo/client/core/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { ExecutionResult } from 'graphql';
import { Environment, Network, RecordSource, Store, fetchQuery, getSingularSelector, type ConcreteRequest, type GraphQLResponse } from 'relay-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getFragmentData } from '../clients/codegen/gql/index.js';
import { CreatePostDocument, NewestPostsDocument, PostItemFragment, UserProfileDocument } from '../clients/codegen/operations.js';
import NewestPostsRequest, { type NewestPostsQuery } from '../clients/relay/__generated__/NewestPostsQuery.graphql.js';
import PostCardFragment from '../clients/relay/__generated__/PostCard_post.graphql.js';
import UserProfileRequest, { type UserProfileQuery } from '../clients/relay/__generated__/UserProfileQuery.graphql.js';
import { codesOf, globalId } from '../helpers/assertions.js';
import { createPosts, createUser } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const RELAY_MANIFEST = 'test/clients/relay/persisted-queries.json';
const CODEGEN_MANIFEST = 'test/clients/codegen/gql/persisted-documents.json';
const readJson = (path: string) => JSON.parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')) as Record<string, string>;

interface Fixture {
  readonly server: TestServer;
  readonly author: { id: number; username: string; name: string };
  /** The author's posts, newest first. */
  readonly bodies: readonly string[];
}

/** One author with three posts a minute apart, so every client's first page is known in advance. */
async function startWithPosts(env: Record<string, string>): Promise<Fixture> {
  const server = await startTestServer({ LOG_LEVEL: 'silent', ...env });
  const author = await createUser(server.database.db, { name: 'Ada Author' });
  const start = Date.parse('2026-03-01T12:00:00.000Z');
  await createPosts(
    server.database.db,
    [0, 1, 2].map((minute) => ({ authorId: author.id, body: `post at minute ${minute}`, createdAt: new Date(start + minute * 60_000) })),
  );
  return { server, author, bodies: ['post at minute 2', 'post at minute 1', 'post at minute 0'] };
}

/** What a client library sent and what it got back, as seen at its `fetch`. */
interface Exchange {
  readonly method: string;
  /** The document's text, when the request carried one. */
  readonly query: string | undefined;
  /** The APQ hash (extensions.persistedQuery.sha256Hash), when the request carried one. */
  readonly hash: string | undefined;
  readonly status: number;
  readonly codes: unknown[];
}

/** A `fetch` for a client library that routes to the test server and records each exchange. */
function recordingFetch(server: TestServer, exchanges: Exchange[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? 'GET';
    const sent = (method === 'GET' ? Object.fromEntries(url.searchParams) : JSON.parse(typeof init?.body === 'string' ? init.body : '{}')) as Record<string, unknown>;
    const extensions = (typeof sent['extensions'] === 'string' ? JSON.parse(sent['extensions']) : sent['extensions']) as
      | { persistedQuery?: { sha256Hash?: string } }
      | undefined;
    const response = await server.fetch(url.pathname + url.search, init);
    const body = (await response.clone().json()) as { errors?: { extensions?: Record<string, unknown> }[] };
    exchanges.push({
      method,
      query: typeof sent['query'] === 'string' ? sent['query'] : undefined,
      hash: extensions?.persistedQuery?.sha256Hash,
      status: response.status,
      codes: codesOf(body),
    });
    return response;
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** An Apollo Client as a web app builds one for automatic persisted queries: hashed queries go over GET (CDN-cacheable). */
function apolloClient(server: TestServer, exchanges: Exchange[], options: { generateHash?: (document: DocumentNode) => string } = {}) {
  const persisted = options.generateHash
    ? createPersistedQueryLink({ generateHash: options.generateHash, useGETForHashedQueries: true })
    : createPersistedQueryLink({ sha256, useGETForHashedQueries: true });
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: persisted.concat(new HttpLink({ uri: 'http://localhost/graphql', fetch: recordingFetch(server, exchanges) })),
  });
}

/** Not in any manifest: only automatic persisted queries (open mode) can run it by hash. */
const APOLLO_POSTS = gql`
  query ApolloNewestPosts($first: Int!) {
    posts(first: $first) {
      edges {
        node {
          id
          body
          author {
            username
          }
        }
      }
    }
  }
`;

interface ApolloPosts {
  posts: { edges: { node: { id: string; body: string; author: { username: string } } }[] };
}

/**
 * The error codes an Apollo Client error carries, whether the server answered 200 with errors
 * (CombinedGraphQLErrors) or a 4xx with a GraphQL response (ServerError, its body as sent).
 */
function apolloCodes(error: unknown): unknown[] {
  if (CombinedGraphQLErrors.is(error)) return codesOf({ errors: [...error.errors] });
  if (ServerError.is(error)) return codesOf(JSON.parse(error.bodyText) as { errors?: { extensions?: Record<string, unknown> }[] });
  return expect.fail(`not an error Apollo Client raises for a GraphQL answer: ${String(error)}`);
}

describe('Apollo Client, automatic persisted queries (open mode)', () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startWithPosts({ PERSISTED_OPERATIONS: 'open' });
  });
  afterAll(() => fixture?.server.close());

  it('misses on the first GET, registers the document by POST, then a fresh client runs it by one GET of the hash', async () => {
    const { server, author, bodies } = fixture;
    const expected = bodies.slice(0, 2).map((body) => ({ body, author: { username: author.username } }));
    const first: Exchange[] = [];
    const { data } = await apolloClient(server, first).query<ApolloPosts>({ query: APOLLO_POSTS, variables: { first: 2 } });
    expect(data!.posts.edges.map(({ node }) => ({ body: node.body, author: { username: node.author.username } }))).toEqual(expected);

    const [miss, registration] = first;
    expect(first).toHaveLength(2);
    expect(miss).toMatchObject({ method: 'GET', query: undefined, codes: ['PERSISTED_QUERY_NOT_FOUND'] });
    expect(miss!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(registration).toMatchObject({ method: 'POST', hash: miss!.hash, status: 200, codes: [] });
    expect(sha256(registration!.query!)).toBe(miss!.hash);

    // A new client (another browser: its own cache, its own link) needs no registration of its own.
    const second: Exchange[] = [];
    const again = await apolloClient(server, second).query<ApolloPosts>({ query: APOLLO_POSTS, variables: { first: 2 } });
    expect(second).toEqual([{ method: 'GET', query: undefined, hash: miss!.hash, status: 200, codes: [] }]);
    expect(again.data).toEqual(data);
  });

  it('refuses a registration whose hash is not the sha256 of its document, and keeps nothing under that hash', async () => {
    const wrong = sha256('not the document');
    const exchanges: Exchange[] = [];
    const error = await apolloClient(fixture.server, exchanges, { generateHash: () => wrong })
      .query({ query: APOLLO_POSTS, variables: { first: 1 } })
      .catch((caught: unknown) => caught);
    expect(apolloCodes(error)).toEqual(['PERSISTED_QUERY_HASH_MISMATCH']);
    expect(exchanges.map(({ method, hash, codes }) => ({ method, hash, codes }))).toEqual([
      { method: 'GET', hash: wrong, codes: ['PERSISTED_QUERY_NOT_FOUND'] },
      { method: 'POST', hash: wrong, codes: ['PERSISTED_QUERY_HASH_MISMATCH'] },
    ]);

    const later: Exchange[] = [];
    await apolloClient(fixture.server, later, { generateHash: () => wrong })
      .query({ query: APOLLO_POSTS, variables: { first: 1 } })
      .catch(() => undefined);
    expect(later[0]).toMatchObject({ method: 'GET', hash: wrong, codes: ['PERSISTED_QUERY_NOT_FOUND'] });
  });
});

/** One trusted server for the three clients: each tool's manifest, in its own format, beside Tally's own. */
describe('trusted mode', () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startWithPosts({
      PERSISTED_OPERATIONS: 'trusted',
      PERSISTED_MANIFESTS: ['persisted-queries/manifest.json', RELAY_MANIFEST, CODEGEN_MANIFEST].join(','),
    });
  });
  afterAll(() => fixture?.server.close());

  describe('Apollo Client', () => {
    it('surfaces the refusal of a document that is in no manifest, which is not registered', async () => {
      const exchanges: Exchange[] = [];
      const error = await apolloClient(fixture.server, exchanges)
        .query({ query: APOLLO_POSTS, variables: { first: 2 } })
        .catch((caught: unknown) => caught);
      expect(apolloCodes(error)).toEqual(['PERSISTED_QUERY_ONLY']);
      expect(exchanges.map(({ method, query, codes }) => ({ method, sentDocument: query !== undefined, codes }))).toEqual([
        { method: 'GET', sentDocument: false, codes: ['PERSISTED_QUERY_NOT_FOUND'] },
        { method: 'POST', sentDocument: true, codes: ['PERSISTED_QUERY_ONLY'] },
      ]);
      expect(exchanges.every(({ status }) => status >= 400 && status < 500)).toBe(true);

      const later: Exchange[] = [];
      await apolloClient(fixture.server, later).query({ query: APOLLO_POSTS, variables: { first: 2 } }).catch(() => undefined);
      expect(later[0]).toMatchObject({ method: 'GET', codes: ['PERSISTED_QUERY_NOT_FOUND'] });
    });
  });

  describe('Relay (relay-compiler persistConfig, relay-runtime)', () => {
    const manifest = readJson(RELAY_MANIFEST);

    /** relay-runtime over a network layer that sends what Relay's persisted-queries guide sends: the id, never the text. */
    function relayEnvironment(idParameter: 'doc_id' | 'id', responses: GraphQLResponse[]) {
      const send = recordingFetch(fixture.server, []);
      const network = Network.create(async (params, variables) => {
        const response = await send('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ [idParameter]: params.id, variables }),
        });
        const json = (await response.json()) as GraphQLResponse;
        responses.push(json);
        return json;
      });
      return new Environment({ network, store: new Store(new RecordSource()) });
    }

    /** The PostCard_post fragment of each edge's node, read from Relay's store as a component would. */
    function postCards(environment: Environment, edges: readonly { node: unknown }[]) {
      return edges.map(({ node }) => environment.lookup(getSingularSelector(PostCardFragment, node)).data);
    }

    it('compiled its operations persisted: the artifacts carry an id of the manifest and no text', () => {
      for (const artifact of [NewestPostsRequest, UserProfileRequest] satisfies ConcreteRequest[]) {
        expect(artifact.params.text).toBeNull();
        expect(manifest[artifact.params.id!]).toContain(`query ${artifact.params.name}(`);
      }
    });

    it.each(['doc_id', 'id'] as const)('runs the newest posts, a connection with a fragment, by %s', async (idParameter) => {
      const { author, bodies } = fixture;
      const responses: GraphQLResponse[] = [];
      const environment = relayEnvironment(idParameter, responses);
      const data = await fetchQuery<NewestPostsQuery>(environment, NewestPostsRequest, { first: 2 }).toPromise();
      expect(responses).toHaveLength(1);
      expect((responses[0] as ExecutionResult).errors).toBeUndefined();
      expect(data!.posts.edges).toHaveLength(2);
      expect(postCards(environment, data!.posts.edges)).toEqual(
        bodies.slice(0, 2).map((body) => ({ body, createdAt: expect.any(String) as unknown, author: { username: author.username, name: author.name } })),
      );
      // The connection handler's fields, which relay-compiler added to the document, came back too.
      expect((responses[0] as ExecutionResult<{ posts: { pageInfo: unknown } }>).data!.posts.pageInfo).toEqual({ endCursor: expect.any(String) as unknown, hasNextPage: true });
    });

    it('runs a profile by the user id with its posts by doc_id', async () => {
      const { author, bodies } = fixture;
      const responses: GraphQLResponse[] = [];
      const environment = relayEnvironment('doc_id', responses);
      const data = await fetchQuery<UserProfileQuery>(environment, UserProfileRequest, { id: globalId('User', author.id), first: 5 }).toPromise();
      expect((responses[0] as ExecutionResult).errors).toBeUndefined();
      expect(data!.user).toMatchObject({ username: author.username, name: author.name, avatarUrl: null });
      expect(postCards(environment, data!.user!.posts.edges).map((card) => (card as { body: string }).body)).toEqual(bodies);
    });

    it('answers each id with what the document it names returns when sent in full', async () => {
      const { server, author } = fixture;
      const variablesOf: Record<string, Record<string, unknown>> = {
        NewestPostsQuery: { first: 3 },
        UserProfileQuery: { id: globalId('User', author.id), first: 3 },
      };
      for (const artifact of [NewestPostsRequest, UserProfileRequest] satisfies ConcreteRequest[]) {
        const variables = variablesOf[artifact.params.name]!;
        const byId = await server.fetch('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ doc_id: artifact.params.id, variables }),
        });
        const inFull = await server.graphql(manifest[artifact.params.id!]!, { variables });
        expect(inFull.body.errors).toBeUndefined();
        expect(byId.status).toBe(200);
        expect(((await byId.json()) as ExecutionResult).data).toEqual(inFull.body.data);
      }
    });

    it('refuses an id no manifest has', async () => {
      const response = await fixture.server.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ doc_id: 'd5f2a6af2afc07d655bc984536a4a919', variables: { first: 1 } }),
      });
      expect(response.status).toBe(404);
      expect(codesOf((await response.json()) as Parameters<typeof codesOf>[0])).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    });
  });

  describe('graphql-codegen client preset (persistedDocuments)', () => {
    const manifest = readJson(CODEGEN_MANIFEST);

    /** The id the preset wrote into a document: what a codegen client sends instead of the text. */
    function hashOf(document: object): string {
      const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
      if (typeof hash !== 'string') throw new Error('the document has no __meta__.hash: regenerate with persistedDocuments (npm run clients:build)');
      return hash;
    }

    /** A persisted-documents client as codegen's guide writes one: `documentId` in a POST body, or in the URL of a GET. */
    async function execute<Result, Variables>(
      document: TypedDocumentNode<Result, Variables>,
      variables: Variables,
      { method = 'POST', token }: { method?: 'GET' | 'POST'; token?: string } = {},
    ): Promise<{ status: number; body: ExecutionResult<Result> }> {
      const documentId = hashOf(document);
      const headers: Record<string, string> = { accept: 'application/graphql-response+json' };
      if (token) headers['authorization'] = `Bearer ${token}`;
      const response =
        method === 'GET'
          ? await fixture.server.fetch(`/graphql?${new URLSearchParams({ documentId, variables: JSON.stringify(variables) })}`, { headers })
          : await fixture.server.fetch('/graphql', {
              method: 'POST',
              headers: { ...headers, 'content-type': 'application/json' },
              body: JSON.stringify({ documentId, variables }),
            });
      return { status: response.status, body: (await response.json()) as ExecutionResult<Result> };
    }

    it('wrote each operation into its manifest under the hash it embedded in the document', () => {
      for (const document of [NewestPostsDocument, UserProfileDocument, CreatePostDocument]) {
        expect(manifest[hashOf(document)]).toBeDefined();
      }
    });

    it.each(['POST', 'GET'] as const)('runs the newest posts with their fragment by documentId over %s', async (method) => {
      const { author, bodies } = fixture;
      const { status, body } = await execute(NewestPostsDocument, { first: 2 }, { method });
      expect(body.errors).toBeUndefined();
      expect(status).toBe(200);
      const posts = body.data!.posts;
      expect(posts.edges.map(({ node }) => getFragmentData(PostItemFragment, node)).map(({ body, author }) => ({ body, author }))).toEqual(
        bodies.slice(0, 2).map((body) => ({ body, author: { username: author.username, name: author.name } })),
      );
      expect(posts.pageInfo.hasNextPage).toBe(true);
    });

    it('runs a profile by username over GET', async () => {
      const { author, bodies } = fixture;
      const { status, body } = await execute(UserProfileDocument, { username: author.username, first: 5 }, { method: 'GET' });
      expect(body.errors).toBeUndefined();
      expect(status).toBe(200);
      expect(body.data!.user).toMatchObject({ id: globalId('User', author.id), name: author.name });
      expect(body.data!.user!.posts.edges.map(({ node }) => getFragmentData(PostItemFragment, node).body)).toEqual(bodies);
    });

    it('runs the createPost mutation by POST, and refuses it over GET (405) without writing', async () => {
      const { server, author } = fixture;
      const token = await server.tokenFor(author.id);
      const newest = async () => (await execute(NewestPostsDocument, { first: 1 })).body.data!.posts.edges.map(({ node }) => getFragmentData(PostItemFragment, node).body);

      const byGet = await execute(CreatePostDocument, { body: 'sent by GET' }, { method: 'GET', token });
      expect(byGet.status).toBe(405);
      expect(byGet.body.data ?? null).toBeNull();
      expect(await newest()).toEqual([fixture.bodies[0]]);

      const { status, body } = await execute(CreatePostDocument, { body: 'persisted by codegen' }, { token });
      expect(body.errors).toBeUndefined();
      expect(status).toBe(200);
      expect(body.data!.createPost.errors).toEqual([]);
      expect(getFragmentData(PostItemFragment, body.data!.createPost.post!)).toMatchObject({ body: 'persisted by codegen', author: { username: author.username } });
      expect(await newest()).toEqual(['persisted by codegen']);
    });

    it('refuses the same operation sent as text that is not the manifest\'s', async () => {
      // The client's own spelling of NewestPosts (the preset persists a normalized print of it, not this).
      const response = await fixture.server.graphql(
        `query NewestPosts($first: Int!) { posts(first: $first) { edges { cursor node { id body } } pageInfo { hasNextPage endCursor } } }`,
        { variables: { first: 1 } },
      );
      expect(response.status).toBe(400);
      expect(codesOf(response.body)).toEqual(['PERSISTED_QUERY_ONLY']);
    });
  });
});
