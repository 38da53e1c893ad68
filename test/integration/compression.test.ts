/**
 * Content coding (src/http/compression.ts, src/request/content-coding.ts, the coded hits of src/http/cached-get.ts)
 * over a real socket, as the bytes go on the wire. Global fetch (undici) sends an Accept-Encoding of its own and
 * decodes what comes back, so it would pass whether or not anything was coded: these requests go through node:http,
 * which sends only the headers given and hands back the body as it came, decoded here with node:zlib.
 *
 * What is held: a large answer is coded whole in the coding the client prefers, with the length of the coded bytes,
 * and decodes to exactly the bytes an uncoded client gets; Accept-Encoding is read with its q-values; small answers,
 * HEAD, streams and answers that are not JSON go as they are; the prepared lane and yoga code alike; and the response
 * cache serves a hit from kept coded bytes under an ETag of that coding, which a conditional GET may name, on a hit
 * and on a miss alike.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApolloManifest } from '../../src/persisted/manifest.js';
import { memoryCostBucket } from '../../src/store/cost-bucket.js';
import { createPosts, createUser } from '../helpers/factories.js';
import { listenLikeMain, type HttpServer } from '../helpers/http.js';
import { startTestServer, type TestServer, type TestServerOptions } from '../helpers/server.js';

const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
const idOf = (name: string) => manifest.operations.find((each) => each.name === name)!.id;

/** The coding threshold of src/request/content-coding.ts (MIN_CODED_BYTES), restated: a test of the product must not take it from the product. */
const MIN_CODED_BYTES = 1024;

interface Wire {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as it came: coded when content-encoding says so. */
  readonly body: Buffer;
}

interface Sent {
  readonly method?: 'GET' | 'POST' | 'HEAD';
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** One request on a connection of its own, with exactly `headers` (node:http adds no Accept-Encoding), read raw. */
function send(base: string, path: string, sent: Sent = {}): Promise<Wire> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${base}${path}`, { method: sent.method ?? 'GET', headers: sent.headers ?? {}, agent: false }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => resolve({ status: incoming.statusCode!, headers: incoming.headers, body: Buffer.concat(chunks) }));
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(sent.body);
  });
}

/** The body a client gets once it undoes the content coding the answer declares. */
function decoded(answer: Wire): Buffer {
  const coding = answer.headers['content-encoding'];
  if (coding === undefined) return answer.body;
  if (coding === 'gzip') return gunzipSync(answer.body);
  if (coding === 'br') return brotliDecompressSync(answer.body);
  throw new Error(`unexpected content-encoding ${coding}`);
}

/** The Vary header's names, lower case. */
const varied = (answer: Wire): string[] => (answer.headers.vary ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);

const withCoding = (acceptEncoding: string | undefined): Record<string, string> => (acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding });

/** A trusted operation by id over POST: the prepared lane's, unless the server has it off. */
function post(http: HttpServer, name: string, variables: Record<string, unknown>, acceptEncoding: string | undefined, headers: Record<string, string> = {}): Promise<Wire> {
  return send(http.base, '/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...withCoding(acceptEncoding), ...headers },
    body: JSON.stringify({ documentId: idOf(name), variables }),
  });
}

/** A trusted operation by id over GET: what the response cache keeps. */
function get(http: HttpServer, name: string, variables: Record<string, unknown>, acceptEncoding: string | undefined, headers: Record<string, string> = {}): Promise<Wire> {
  const search = new URLSearchParams({ documentId: idOf(name), variables: JSON.stringify(variables) });
  return send(http.base, `/graphql?${search.toString()}`, { headers: { accept: 'application/graphql-response+json', ...withCoding(acceptEncoding), ...headers } });
}

/** An answer coded as `coding`: declared, framed by the coded bytes' length, and decoding to `plain`'s bytes. */
function expectCoded(answer: Wire, coding: 'gzip' | 'br', plain: Buffer, context: string): void {
  expect(answer.headers['content-encoding'], context).toBe(coding);
  expect(answer.headers['content-length'], context).toBe(String(answer.body.length));
  expect(answer.headers['transfer-encoding'], context).toBeUndefined();
  expect(decoded(answer).equals(plain), context).toBe(true);
  expect(varied(answer), context).toContain('accept-encoding');
}

/**
 * Two users and 60 posts, every row spelled out (names, times), so servers seeded alike answer byte for byte alike:
 * a page of 50 is about 10 KB of JSON, well over the coding threshold.
 */
async function seeded(env: Record<string, string>, options: TestServerOptions = {}): Promise<{ server: TestServer; http: HttpServer }> {
  const server = await startTestServer({ PERSISTED_OPERATIONS: 'trusted', ...env }, undefined, options);
  const db = server.database.db;
  const alice = await createUser(db, { username: 'alice', name: 'Alice', email: 'alice@example.test', createdAt: new Date(Date.UTC(2025, 5, 1)) });
  const bob = await createUser(db, { username: 'bob', name: 'Bob', email: 'bob@example.test', createdAt: new Date(Date.UTC(2025, 5, 2)) });
  await createPosts(
    db,
    Array.from({ length: 60 }, (_, index) => ({
      authorId: index % 2 === 0 ? alice.id : bob.id,
      body: `post ${index}: what a client on a slow link waits for`,
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, index)),
    })),
  );
  return { server, http: await listenLikeMain(server) };
}

/** Requests the prepared lane answered on this server, from its metrics. */
async function laneAnswered(server: TestServer): Promise<number> {
  const metric = await server.metrics.registry.getSingleMetric('tally_prepared_lane_requests_total')!.get();
  return metric.values.reduce((sum, value) => sum + value.value, 0);
}

const PAGE = { first: 50 };

describe('over the prepared lane, with the response cache on', () => {
  let server: TestServer;
  let http: HttpServer;

  beforeAll(async () => {
    ({ server, http } = await seeded({}));
  });
  afterAll(async () => {
    await http?.close();
    await server?.close();
  });

  describe('a large answer', () => {
    it('goes in the coding asked for, whole, several times smaller, and decodes to the uncoded bytes', async () => {
      const plain = await post(http, 'NewestPosts', PAGE, 'identity');
      expect(plain.status).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.length).toBeGreaterThan(5 * MIN_CODED_BYTES);
      expect(plain.headers['content-length']).toBe(String(plain.body.length));
      // Uncoded, but a cache must still know a coding client would have had other bytes.
      expect(varied(plain)).toContain('accept-encoding');
      const page = JSON.parse(plain.body.toString('utf8')) as { data: { posts: { edges: unknown[] } } };
      expect(page.data.posts.edges).toHaveLength(50);

      for (const [acceptEncoding, coding] of [
        ['gzip', 'gzip'],
        ['br', 'br'],
        // Brotli is the smaller: it goes first at equal q.
        ['gzip, deflate, br', 'br'],
      ] as const) {
        const answer = await post(http, 'NewestPosts', PAGE, acceptEncoding);
        expect(answer.status, acceptEncoding).toBe(200);
        expectCoded(answer, coding, plain.body, acceptEncoding);
        expect(answer.body.length * 4, acceptEncoding).toBeLessThan(plain.body.length);
        expect(answer.headers['content-type'], acceptEncoding).toBe(plain.headers['content-type']);
      }
    });
  });

  describe('Accept-Encoding, read with its q-values', () => {
    let plain: Buffer;
    beforeAll(async () => {
      plain = (await post(http, 'NewestPosts', PAGE, 'identity')).body;
    });

    it.each([
      // Both codings refused, or none offered: the answer goes as it is.
      ['gzip;q=0, br;q=0', undefined],
      ['identity', undefined],
      ['x-unknown', undefined],
      // An empty header asks for no coding (RFC 9110 12.5.3).
      ['', undefined],
      // No header: any coding would do, but an answer a client may not decode is not risked.
      [undefined, undefined],
      // `*` stands for every coding not named: brotli first at equal q.
      ['*;q=0.5', 'br'],
      ['br;q=0, *', 'gzip'],
      // The higher q wins over the server's preference.
      ['br;q=0.5, gzip', 'gzip'],
      ['gzip;q=1, br;q=0.9', 'gzip'],
      // Coding names are case-insensitive.
      ['GZIP', 'gzip'],
    ] as const)('Accept-Encoding %j gives %s', async (acceptEncoding, coding) => {
      const answer = await post(http, 'NewestPosts', PAGE, acceptEncoding);
      expect(answer.status).toBe(200);
      if (coding === undefined) {
        expect(answer.headers['content-encoding']).toBeUndefined();
        expect(answer.body.equals(plain)).toBe(true);
        expect(varied(answer)).toContain('accept-encoding');
      } else {
        expectCoded(answer, coding, plain, String(acceptEncoding));
      }
    });
  });

  describe('a small answer', () => {
    it('is never coded, whatever the client takes', async () => {
      for (const acceptEncoding of ['gzip', 'br', 'gzip, deflate, br', '*']) {
        const answer = await post(http, 'Viewer', {}, acceptEncoding);
        expect(answer.status).toBe(200);
        expect(answer.body.length).toBeLessThan(MIN_CODED_BYTES);
        expect(answer.headers['content-encoding'], acceptEncoding).toBeUndefined();
        expect(answer.headers['content-length']).toBe(String(answer.body.length));
        expect(JSON.parse(answer.body.toString('utf8'))).toMatchObject({ data: { viewer: null } });
      }
    });

    it('is never coded from the cache either, and keeps its one ETag', async () => {
      const variables = { first: 1, run: randomUUID() };
      const miss = await get(http, 'NewestPosts', variables, 'gzip');
      const hit = await get(http, 'NewestPosts', variables, 'gzip');
      expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
      for (const answer of [miss, hit]) {
        expect(answer.status).toBe(200);
        expect(answer.body.length).toBeLessThan(MIN_CODED_BYTES);
        expect(answer.headers['content-encoding']).toBeUndefined();
        expect(answer.headers.etag).toMatch(/^"[\w-]{43}\.gr"$/);
        // Answered the same whatever the Accept-Encoding: nothing to vary by.
        expect(varied(answer)).toEqual(['accept']);
      }
      expect(hit.body.equals(miss.body)).toBe(true);
      expect(hit.headers.etag).toBe(miss.headers.etag);
    });
  });

  describe('the response cache', () => {
    beforeEach(() => server.statements.reset());

    it('keeps one answer and serves it from the front in each coding, with an ETag per coding', async () => {
      const variables = { ...PAGE, run: randomUUID() }; // a key of this test's own
      const miss = await get(http, 'NewestPosts', variables, 'gzip');
      expect(miss.status).toBe(200);
      expect(miss.headers['x-cache']).toBe('MISS');
      // yoga's answer, coded by the compression stage: the ETag of the gzip bytes, not of the uncoded ones.
      expect(miss.headers.etag).toMatch(/^"[\w-]{43}\.gr\.gzip"$/);
      expect(varied(miss)).toEqual(['accept', 'accept-encoding']);
      const body = decoded(miss);
      expectCoded(miss, 'gzip', body, 'miss');
      expect(body.length).toBeGreaterThan(5 * MIN_CODED_BYTES);
      expect(server.statements.count).toBeGreaterThan(0);

      server.statements.reset();
      const hit = await get(http, 'NewestPosts', variables, 'gzip');
      expect(hit.status).toBe(200);
      expect(hit.headers['x-cache']).toBe('HIT');
      expectCoded(hit, 'gzip', body, 'hit');
      expect(hit.headers.etag).toBe(miss.headers.etag);
      // One strong ETag is one sequence of bytes: the kept coding of the hit is the miss's, byte for byte.
      expect(hit.body.equals(miss.body)).toBe(true);
      expect(varied(hit)).toEqual(['accept', 'accept-encoding']);

      const plain = await get(http, 'NewestPosts', variables, 'identity');
      expect(plain.headers['x-cache']).toBe('HIT');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.equals(body)).toBe(true);
      expect(plain.headers.etag).toMatch(/^"[\w-]{43}\.gr"$/);
      expect(plain.headers.etag).not.toBe(hit.headers.etag);
      expect(hit.headers.etag).toBe(plain.headers.etag!.replace(/"$/, '.gzip"'));
      expect(varied(plain)).toEqual(['accept', 'accept-encoding']);

      const brotli = await get(http, 'NewestPosts', variables, 'gzip, br');
      expect(brotli.headers['x-cache']).toBe('HIT');
      expectCoded(brotli, 'br', body, 'br hit');
      expect(brotli.headers.etag).toBe(plain.headers.etag!.replace(/"$/, '.br"'));
      // Every one of those after the miss came from the front, without a statement.
      expect(server.statements.count).toBe(0);
    });

    it('answers a conditional GET naming the coded ETag 304, for that coding only', async () => {
      const variables = { ...PAGE, run: randomUUID() };
      const gzipEtag = (await get(http, 'NewestPosts', variables, 'gzip')).headers.etag!;
      const plainEtag = (await get(http, 'NewestPosts', variables, 'identity')).headers.etag!;
      expect(gzipEtag).toBe(plainEtag.replace(/"$/, '.gzip"'));
      server.statements.reset(); // the first was the miss that ran the query

      const notModified = await get(http, 'NewestPosts', variables, 'gzip', { 'if-none-match': gzipEtag });
      expect(notModified.status).toBe(304);
      expect(notModified.body.length).toBe(0);
      expect(notModified.headers['x-cache']).toBe('HIT');
      expect(notModified.headers.etag).toBe(gzipEtag);
      // A 304 carries the Vary its 200 would (RFC 9110 15.4.5), so a cache updates the right stored answer.
      expect(varied(notModified)).toEqual(['accept', 'accept-encoding']);
      // A weak comparison, as If-None-Match is read.
      expect((await get(http, 'NewestPosts', variables, 'gzip', { 'if-none-match': `W/${gzipEtag}` })).status).toBe(304);

      // The gzip ETag does not name the uncoded bytes, nor the uncoded ETag the gzip ones: a full answer each.
      const plain = await get(http, 'NewestPosts', variables, 'identity', { 'if-none-match': gzipEtag });
      expect(plain.status).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.etag).toBe(plainEtag);
      const coded = await get(http, 'NewestPosts', variables, 'gzip', { 'if-none-match': plainEtag });
      expect(coded.status).toBe(200);
      expectCoded(coded, 'gzip', plain.body, 'gzip after the uncoded ETag');
      expect(coded.headers.etag).toBe(gzipEtag);
      // And the brotli one names neither.
      expect((await get(http, 'NewestPosts', variables, 'br', { 'if-none-match': gzipEtag })).status).toBe(200);
      expect(server.statements.count).toBe(0);
    });

    // A revalidation that misses the cache (a dropped or expired answer, or, as here, another key with the same
    // answer) reaches yoga's response-cache stage, whose 304 must say what a hit's says: the coded ETag, the Vary.
    it('answers 304 on a miss to a client naming the coded ETag of the same answer', async () => {
      const gzipEtag = (await get(http, 'NewestPosts', { ...PAGE, run: randomUUID() }, 'gzip')).headers.etag!;
      // Another key (the variable is one the operation does not read), the same bytes, the same ETags.
      const revalidated = await get(http, 'NewestPosts', { ...PAGE, run: randomUUID() }, 'gzip', { 'if-none-match': gzipEtag });
      expect(revalidated.headers['x-cache']).toBe('MISS');
      // RFC 9110 13.1.2: the selected representation's ETag is named, so 304.
      expect(revalidated.status).toBe(304);
      expect(revalidated.headers.etag).toBe(gzipEtag);
    });

    it('a 304 on a miss varies by Accept-Encoding, as its 200 does', async () => {
      const plainEtag = (await get(http, 'NewestPosts', { ...PAGE, run: randomUUID() }, 'identity')).headers.etag!;
      const revalidated = await get(http, 'NewestPosts', { ...PAGE, run: randomUUID() }, 'identity', { 'if-none-match': plainEtag });
      expect(revalidated.headers['x-cache']).toBe('MISS');
      expect(revalidated.status).toBe(304);
      // RFC 9110 15.4.5: a cache updating its stored answer from this 304 must keep the Vary.
      expect(varied(revalidated)).toEqual(['accept', 'accept-encoding']);
    });
  });

  describe('what is not a buffered JSON answer', () => {
    it('passes HEAD as it is', async () => {
      for (const path of ['/healthz', `/graphql?${new URLSearchParams({ documentId: idOf('NewestPosts'), variables: JSON.stringify(PAGE) }).toString()}`]) {
        const head = await send(http.base, path, { method: 'HEAD', headers: { 'accept-encoding': 'gzip, br' } });
        expect(head.headers['content-encoding'], path).toBeUndefined();
        expect(head.body.length, path).toBe(0);
        if (path === '/healthz') expect(head.status).toBe(200);
        else expect([head.status, head.headers.allow]).toEqual([405, 'GET, POST']);
      }
      const healthz = await send(http.base, '/healthz', { headers: { 'accept-encoding': 'gzip' } });
      expect(healthz.status).toBe(200);
      expect(healthz.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(healthz.body.toString('utf8'))).toBeTruthy();
    });

    it('passes an event stream and text as they are', async () => {
      const search = new URLSearchParams({ documentId: idOf('NewestPosts'), variables: JSON.stringify({ ...PAGE, run: randomUUID() }) });
      const stream = await send(http.base, `/graphql?${search.toString()}`, { headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip, br' } });
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      // yoga's own `none`, which keeps proxies from buffering a stream to code it: left as it is, not coded over.
      expect(stream.headers['content-encoding']).toBe('none');
      expect(stream.body.length).toBeGreaterThan(5 * MIN_CODED_BYTES);
      expect(stream.body.toString('utf8')).toContain('"endCursor"');

      const metrics = await send(http.base, '/metrics', { headers: { 'accept-encoding': 'gzip, br' } });
      expect(metrics.status).toBe(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
      expect(metrics.headers['content-encoding']).toBeUndefined();
      expect(metrics.body.toString('utf8')).toContain('# HELP tally_');
    });
  });

  describe('an error answer', () => {
    it('keeps its status and a body the client reads, small or coded', async () => {
      const notFound = await send(http.base, '/nope', { headers: { 'accept-encoding': 'gzip' } });
      expect(notFound.status).toBe(404);
      expect(notFound.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(notFound.body.toString('utf8'))).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });

      const malformed = await send(http.base, '/graphql', { method: 'POST', headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip, br' }, body: '{"documentId": ' });
      expect(malformed.status).toBe(400);
      expect(malformed.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(malformed.body.toString('utf8'))).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });

      // An error quoting a long bad value is over the threshold: coded like any answer, status and all.
      const variables = { first: 'x'.repeat(3 * MIN_CODED_BYTES) };
      const plain = await post(http, 'NewestPosts', variables, 'identity', { accept: 'application/graphql-response+json' });
      expect(plain.status).toBe(400);
      expect(plain.body.length).toBeGreaterThan(MIN_CODED_BYTES);
      const coded = await post(http, 'NewestPosts', variables, 'gzip', { accept: 'application/graphql-response+json' });
      expect(coded.status).toBe(400);
      expectCoded(coded, 'gzip', plain.body, 'a coded 400');
      expect(JSON.parse(decoded(coded).toString('utf8'))).toMatchObject({ errors: [{ message: expect.stringContaining('$first') as unknown }] });
    });
  });
});

describe('the prepared lane and yoga code alike', () => {
  // The same seed and a bucket on a clock held still on both: the same answers to the same requests, byte for byte.
  let lane: { server: TestServer; http: HttpServer };
  let yoga: { server: TestServer; http: HttpServer };

  beforeAll(async () => {
    const env = { RESPONSE_CACHE: 'false' };
    [lane, yoga] = await Promise.all([
      seeded(env, { costBucket: memoryCostBucket({ now: () => 0 }) }),
      seeded({ ...env, DISABLE_STAGES: 'lane' }, { costBucket: memoryCostBucket({ now: () => 0 }) }),
    ]);
  });
  afterAll(async () => {
    for (const each of [lane, yoga]) {
      await each?.http.close();
      await each?.server.close();
    }
  });

  /** The headers a client or a cache acts on; Date and Connection are the transport's. */
  const COMPARED = ['content-type', 'content-length', 'content-encoding', 'transfer-encoding', 'vary', 'etag', 'x-request-id', 'ratelimit-limit', 'ratelimit-remaining'];
  const compared = (answer: Wire) => Object.fromEntries(COMPARED.map((name) => [name, answer.headers[name]]));

  it('answers every coding with the same bytes and headers, lane or not', async () => {
    let requests = 0;
    for (const [name, variables] of [
      ['NewestPosts', PAGE],
      ['Viewer', {}],
    ] as const) {
      for (const acceptEncoding of ['gzip', 'br', 'identity']) {
        requests += 1;
        const headers = { 'x-request-id': `coding-${requests}` };
        const laneBefore = await laneAnswered(lane.server);
        const viaLane = await post(lane.http, name, variables, acceptEncoding, headers);
        const viaYoga = await post(yoga.http, name, variables, acceptEncoding, headers);
        const context = `${name} ${acceptEncoding}`;
        // The lane answered its side, and yoga the other.
        expect(await laneAnswered(lane.server), context).toBe(laneBefore + 1);
        expect(await laneAnswered(yoga.server), context).toBe(0);
        expect(viaLane.status, context).toBe(200);
        expect(viaYoga.status, context).toBe(viaLane.status);
        expect(compared(viaYoga), context).toEqual(compared(viaLane));
        expect(viaYoga.body.equals(viaLane.body), context).toBe(true);
        expect(decoded(viaYoga).equals(decoded(viaLane)), context).toBe(true);
        const large = decoded(viaLane).length >= MIN_CODED_BYTES;
        expect(large, context).toBe(name === 'NewestPosts');
        expect(viaLane.headers['content-encoding'], context).toBe(large && acceptEncoding !== 'identity' ? acceptEncoding : undefined);
        expect(varied(viaLane).includes('accept-encoding'), context).toBe(large);
      }
    }
  });
});
