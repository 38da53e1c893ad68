/**
 * Hostile HTTP/1.1 requests, for test/integration/http-properties.test.ts: fast-check generators of requests
 * from sound to hostile (methods, targets, Host values, headers, query strings, bodies, framings), the ids and
 * queries they carry, and pathOf, the path a target names. They are written and answered byte for byte by
 * test/helpers/raw-http.ts, since fetch and undici normalise or refuse most of what is worth sending.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { DEFAULT_MANIFEST } from '../../src/config.js';
import { describeRequest, type RawHeader, type RawRequest } from './raw-http.js';

/**
 * The path a request-target names, as written (no decoding, no dot segments removed): origin-form up to its
 * query or fragment, absolute-form after its authority; any other form (`*`, empty, junk) is its own path.
 */
export function pathOf(target: string): string {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  const rest = absolute ? target.slice(absolute[0].length) : target;
  if (absolute && (rest === '' || rest.startsWith('?') || rest.startsWith('#'))) return '/';
  if (!rest.startsWith('/')) return rest;
  return rest.split(/[?#]/, 1)[0]!;
}

// ---- generators ----

interface ManifestOperation {
  readonly id: string;
  readonly name: string;
}
const MANIFEST = JSON.parse(readFileSync(DEFAULT_MANIFEST, 'utf8')) as { operations: ManifestOperation[] };

/** The trusted ids of persisted-queries/manifest.json, by operation name. */
export const TRUSTED_IDS: Readonly<Record<string, string>> = Object.fromEntries(MANIFEST.operations.map(({ name, id }) => [name, id]));
/** A query every instance runs from its id, GET or POST, trusted mode or open: the newest posts. */
export const NEWEST_POSTS_ID = TRUSTED_IDS['NewestPosts']!;
const trustedIds = Object.values(TRUSTED_IDS);

/** A query small enough for any budget, with data in any database that has posts. */
export const POSTS_QUERY = '{ posts(first: 2) { edges { cursor } } }';

/** `depth` arrays, each in the next, written with raw brackets: 2 bytes a level, so 5,000 fit in a 16 KB head. */
export const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

export interface HostileOptions {
  /** The server's port, for Host values and absolute targets that name it. */
  readonly port: number;
  /** A token the server verifies (a real user's). */
  readonly token: string;
}

/** One of `choices` by weight; a failure shrinks towards the first, so each list starts with its plainest. */
const weighted = <T>(...choices: [number, fc.Arbitrary<T>][]) => fc.oneof({ withCrossShrink: true }, ...choices.map(([weight, arbitrary]) => ({ weight, arbitrary })));

/** Visible ASCII and space: what a header value may hold. */
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 40 });
/** Any code unit, controls included. */
const anyText = fc.string({ unit: 'binary', maxLength: 40 });
const tokenChars = fc.string({ unit: fc.constantFrom(...'abcxyzABCXYZ019-_.!#$%&\'*+^`|~'.split('')), minLength: 1, maxLength: 12 });
const base64url = fc.base64String({ maxLength: 60 }).map((text) => text.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_'));
/** Long values: mostly within node's 16 KB of headers, now and then past it (431). */
const long = (unit: string) => weighted([4, fc.integer({ min: 1_000, max: 12_000 })], [1, fc.integer({ min: 16_000, max: 20_000 })]).map((length) => unit.repeat(length));

const WIRE_METHODS = ['HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'QUERY', 'PROPFIND', 'PRI', 'M-SEARCH'];
/** Methods node parses (any of them may still be refused). */
const soundMethods = weighted([10, fc.constantFrom('GET', 'POST')], [3, fc.constantFrom(...WIRE_METHODS)]);
const hostileMethods = weighted(
  [4, soundMethods],
  [2, fc.constantFrom('get', 'post', 'Get', 'pOST', 'G ET', 'GET\t', 'GÉT', '')],
  [1, tokenChars],
  [1, printable],
);
const versions = weighted([6, fc.constant('HTTP/1.1')], [2, fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'HTTP/9.9', 'http/1.1', 'HTTP/1.1 x', '')]);

/** JSON texts a client might put in `variables=` or `extensions=`, from sound to broken. */
const shallowJsonTexts = fc.oneof(
  fc.constantFrom('{"first":2}', '{"first":5,"after":null}', '{}', '', '{"username":"nobody"}'),
  fc.constantFrom('{x', '{"first":', '{"first":2}junk', '{"first":2}}', '{first:2}', "{'first':2}", '{"first":2,}', 'undefined', 'NaN'),
  fc.constantFrom('[]', 'null', '5', '"x"', 'true', '[{"first":2}]', '-0'),
  fc.constantFrom('{"first":1e400}', '{"first":99999999999999999999999}', '{"first":-1}', '{"first":1.5}', '{"first":"5"}', '{"first":1e-400}', '{"first":2147483648}'),
  fc.constantFrom(...trustedIds).map((id) => `{"persistedQuery":{"version":1,"sha256Hash":"${id}"}}`),
  fc.constantFrom('{"persistedQuery":{"version":2,"sha256Hash":"x"}}', '{"persistedQuery":null}', '{"persistedQuery":"x"}', '{"persistedQuery":{"version":1,"sha256Hash":5}}'),
  fc.json({ maxDepth: 4 }),
  anyText,
);
/** JSON nested thousands deep, small enough written raw for a 16 KB head (percent-encoded it would not be). */
const deepJsonTexts = weighted(
  [3, fc.integer({ min: 3_000, max: 5_000 }).map((depth) => `{"first":5,"x":${nestedArrays(depth)}}`)],
  [1, fc.integer({ min: 3_000, max: 5_000 }).map((depth) => nestedArrays(depth))],
  [1, fc.integer({ min: 500, max: 2_500 }).map((depth) => `{"first":5,"x":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`)],
);
const jsonTexts = weighted([4, shallowJsonTexts], [1, deepJsonTexts]);

/** How a text goes into a query string: percent-encoded, raw, or raw with its spaces as `+`. */
const inQuery = (text: fc.Arbitrary<string>) =>
  fc.tuple(text, weighted([3, fc.constant('encoded')], [1, fc.constant('raw')], [1, fc.constant('plus')])).map(([value, how]) =>
    how === 'encoded' ? encodeURIComponent(value) : how === 'plus' ? value.replaceAll(' ', '+') : value,
  );

/** Whole documents (open mode runs them; trusted mode refuses them): sound, invalid, of every operation type. */
const documents = fc.constantFrom(
  POSTS_QUERY,
  '{ __typename }',
  'query Q { posts(first: 1) { edges { cursor } } }',
  'query ($first: Int) { posts(first: $first) { edges { cursor } } }',
  'query A { __typename } query B { __typename }',
  '{ __schema { queryType { name } } }',
  '{ viewer { username } }',
  'mutation { x }',
  'subscription { x }',
  '{',
  `${POSTS_QUERY} # é`,
);
/** What names the operation: a trusted id, an id nobody trusts, a whole document. */
const operationParameter = weighted(
  [9, fc.constantFrom(...trustedIds).map((id) => `documentId=${id}`)],
  [
    2,
    fc
      .tuple(fc.constantFrom('documentId', 'doc_id', 'id'), fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), maxLength: 70 }), printable))
      .map(([name, id]) => `${name}=${encodeURIComponent(id)}`),
  ],
  [3, inQuery(fc.oneof(documents, printable)).map((text) => `query=${text}`)],
);
/** Everything else a GraphQL GET carries, and what no GET should. */
const otherParameter = weighted(
  [6, inQuery(shallowJsonTexts).map((text) => `variables=${text}`)],
  [4, deepJsonTexts.map((text) => `variables=${text}`)],
  [3, inQuery(shallowJsonTexts).map((text) => `extensions=${text}`)],
  [1, deepJsonTexts.map((text) => `extensions=${text}`)],
  [2, inQuery(fc.oneof(fc.constantFrom('NewestPosts', 'Feed', 'Q', '', 'Nope'), printable)).map((text) => `operationName=${text}`)],
  [3, fc.constantFrom('%zz', '%', '%E0%A4%A', 'x=%ff%fe', 'variables=%zz', 'é=ü', '💥', '&&', '=', '+', 'variables', 'documentId', 'a=b=c', ';', '%00', '#frag')],
  [1, operationParameter],
  [1, printable],
);
/** A query string: the operation first, or not at all; then up to three more, repeated keys included. */
const queryStrings = fc
  .tuple(fc.option(operationParameter, { freq: 5, nil: undefined }), fc.array(otherParameter, { maxLength: 3 }))
  .map(([operation, others]) => [...(operation === undefined ? [] : [operation]), ...others].join('&'));

const KNOWN_PATHS = ['/graphql', '/healthz', '/readyz', '/metrics'];
const PATH_VARIANTS = [
  '/graphql/',
  '//graphql',
  '/GRAPHQL',
  '/graphql%2F',
  '/healthz/../graphql',
  '/graphql/../healthz',
  '/./graphql',
  '/%67raphql',
  '/x/graphql',
  '/graphql;x',
  '/graphql%00',
  '/healthz%3Fx',
  '/',
  '/favicon.ico',
];

/** Paths and request-targets of every form; mostly the ones Tally serves. */
function paths(port: number) {
  const known = fc.constantFrom(...KNOWN_PATHS);
  const variants = fc.constantFrom(...PATH_VARIANTS);
  const absolute = fc
    .tuple(fc.constantFrom('http', 'https', 'HTTP', 'ftp'), fc.constantFrom(`127.0.0.1:${port}`, 'evil.example', 'a b', ''), fc.oneof(known, variants))
    .map(([scheme, host, path]) => `${scheme}://${host}${path}`);
  return weighted(
    [12, known],
    [4, variants],
    [2, absolute],
    [1, fc.constantFrom('*', '', 'graphql', 'é', '/graphql\x00')],
    [1, printable.map((text) => `/${text}`)],
  );
}

/** Host values: the server's own, other names, what is no authority, and one that carries a path and a query. */
function hostValues(port: number) {
  const at = `127.0.0.1:${port}`;
  return weighted(
    [16, fc.constantFrom(at, 'localhost', 'example.com', 'LOCALHOST:80')],
    [4, fc.constantFrom('a b', '[::1', '[::1]', `[::1]:${port}`, 'x:99999', 'x:-1', 'x:', '@evil', 'user@evil', 'user:pw@evil', '#', '?', '/', 'a/b', '%41', 'é.example', '.', '..', ':', '')],
    [2, fc.constantFrom(...trustedIds).map((id) => `${at}/graphql?documentId=${id}&x=`)],
    [1, fc.constantFrom(`${at}/healthz?`, `${at}/graphql?query=${encodeURIComponent(POSTS_QUERY)}&x=`, `${at}/x#`, `${at}?`)],
    [1, long('a')],
    [1, printable],
  );
}

/** One Host header, mostly; none, two, or (on the wire) one whose name is misspelt. */
function hostHeaders(port: number, wire = false): fc.Arbitrary<RawHeader[]> {
  const value = hostValues(port);
  return weighted(
    [20, value.map((host): RawHeader[] => [['Host', host]])],
    [1, fc.constant<RawHeader[]>([])],
    [1, fc.tuple(value, value).map(([one, two]): RawHeader[] => [['Host', one], ['host', two]])],
    [wire ? 4 : 1, fc.tuple(fc.constantFrom('HOST', 'host', ...(wire ? ['Host ', ' Host', 'Ho st'] : [])), value).map(([name, host]): RawHeader[] => [[name, host]])],
  );
}

const CONTENT_TYPES = {
  json: ['application/json', 'application/json; charset=utf-8'],
  odd: ['APPLICATION/JSON', 'Application/Json; charset=UTF-8', 'application/json;charset=utf-16', 'application/json; charset=latin1', ' application/json ', 'application/json;;', 'application/json; x="a;b"'],
  other: ['text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/graphql', 'application/jsonx', 'json', '', ';', 'application/graphql-response+json', 'text/json'],
};
const contentTypes = weighted([6, fc.constantFrom(...CONTENT_TYPES.json)], [4, fc.constantFrom(...CONTENT_TYPES.odd)], [2, fc.constantFrom(...CONTENT_TYPES.other)], [1, printable]);

/** Headers with values a parser accepts (what is in them is the test). */
function soundHeaders(options: HostileOptions): fc.Arbitrary<RawHeader[]> {
  const header = (name: string, values: fc.Arbitrary<string>) => values.map((value): RawHeader => [name, value]);
  return fc.array(
    fc.oneof(
      header('Content-Encoding', fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'GZIP', 'x-junk', 'gzip, br', '')),
      header(
        'Accept',
        fc.oneof(fc.constantFrom('*/*', 'application/json', 'application/graphql-response+json', 'text/html', 'text/event-stream', 'multipart/mixed', 'application/*;q=0', 'x/y', '', ',,,', 'application/json;q=abc'), printable),
      ),
      header(
        'Authorization',
        fc.oneof(
          fc.constant(`Bearer ${options.token}`),
          fc.constantFrom('Bearer', 'Bearer ', 'Bearer junk', 'bearer junk', 'Basic dXNlcjpwYXNz', 'Token x', 'Bearer a.b.c', 'Bearer  two  spaces'),
          fc.tuple(base64url, base64url, base64url).map((segments) => `Bearer ${segments.join('.')}`),
          long('A').map((text) => `Bearer ${text}`),
          printable,
        ),
      ),
      header('X-Request-Id', fc.oneof(fc.constantFrom('abc', 'x y', '../../etc/passwd', '<script>', ''), long('r'), printable)),
      header('X-Forwarded-For', fc.oneof(fc.constantFrom('1.2.3.4', 'junk', '1.2.3.4, junk', '::1', '999.999.999.999', ',', '::ffff:1.2.3.4'), printable)),
      header('If-None-Match', fc.oneof(fc.constantFrom('*', '"x"', 'W/"x"', 'junk', '""', ','), printable)),
      header('Idempotency-Key', fc.oneof(fc.constantFrom('k', '', 'x'.repeat(300)), printable)),
      header('Expect', fc.constantFrom('100-continue', 'junk')),
      header('Connection', fc.constantFrom('close', 'keep-alive', 'upgrade', 'junk')),
      header('Upgrade', fc.constantFrom('websocket', 'h2c', 'junk')),
      header('Cookie', printable),
      header('Origin', fc.constantFrom('https://evil.example', 'null', '')),
      fc.tuple(tokenChars, printable).map(([name, value]): RawHeader => [name, value]),
    ),
    { maxLength: 4 },
  );
}

/** Headers as no client should write them: controls, bare CR or LF, NUL, invalid UTF-8, names that are no token. */
const hostileHeaders: fc.Arbitrary<RawHeader[]> = fc.array(
  fc.oneof(
    fc.tuple(tokenChars, anyText).map(([name, value]): RawHeader => [name, value]),
    fc
      .tuple(fc.constantFrom('X-Junk', 'Accept', 'Content-Type'), fc.constantFrom(Uint8Array.of(0x61, 0x0a, 0x62), Uint8Array.of(0x61, 0x0d, 0x62), Uint8Array.of(0x00), Uint8Array.of(0xff, 0xfe, 0xc3)))
      .map(([name, value]): RawHeader => [name, value]),
    fc.constantFrom<RawHeader>(['', 'x'], [' X-Lead', 'x'], ['X Space', 'x'], ['X-Colon:', 'x'], ['é', 'x'], ['Content-Type', 'application/json\x00']),
  ),
  { minLength: 1, maxLength: 2 },
);

type Framing = 'length' | 'none' | 'short' | 'long' | 'chunked' | 'chunked-bad' | 'chunked-truncated' | 'length-and-chunked' | 'two-lengths' | 'te-junk' | 'length-junk';

const soundFramings = weighted<Framing>([10, fc.constant('length')], [2, fc.constant('chunked')], [1, fc.constant('none')]);
const hostileFramings = weighted<Framing>(
  [2, soundFramings],
  [3, fc.constantFrom('short', 'long', 'chunked-bad', 'chunked-truncated', 'length-and-chunked', 'two-lengths', 'te-junk', 'length-junk')],
);

const utf8 = (value: string) => Buffer.from(value, 'utf8');
const deepBodies = fc.integer({ min: 3_000, max: 20_000 });
/** Request bodies: GraphQL as clients send it, then broken, abusive, or not JSON at all. */
const bodies: fc.Arbitrary<Uint8Array> = weighted(
  [3, fc.constant(new Uint8Array())],
  [4, fc.constant(utf8(JSON.stringify({ query: POSTS_QUERY })))],
  [2, fc.tuple(documents, fc.option(shallowJsonTexts, { nil: undefined })).map(([query, variables]) => utf8(`{"query":${JSON.stringify(query)}${variables ? `,"variables":${variables}` : ''}}`))],
  [4, fc.constantFrom(...trustedIds).map((id) => utf8(JSON.stringify({ documentId: id, variables: { first: 2 } })))],
  [1, fc.constantFrom(...trustedIds).map((id) => utf8(JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } })))],
  [1, fc.constant(utf8(JSON.stringify([{ query: POSTS_QUERY }, { query: '{ __typename }' }])))],
  [2, deepBodies.map((depth) => utf8(`{"documentId":"${NEWEST_POSTS_ID}","variables":{"first":2,"x":${nestedArrays(depth)}}}`))],
  [1, deepBodies.map((depth) => utf8(`{"query":"{ __typename }","extensions":${nestedArrays(depth)}}`))],
  [1, fc.tuple(fc.constantFrom(...trustedIds), fc.constantFrom('variables', 'extensions', 'operationName'), jsonTexts).map(([id, key, value]) => utf8(`{"documentId":"${id}","${key}":${value}}`))],
  [3, fc.constantFrom('{', '{"query":', '{"query":"{ posts }"', 'nope', '{"query": "{ x }"}}', "{'query':'x'}", '\ufeff{"query":"{ __typename }"}', '{"query":"{ __typename }"}\x00').map(utf8)],
  [2, fc.constantFrom('5', '"x"', 'null', 'true', '[]', '{}', '[1,2]', '""', '[[]]', '{"query":5}', '{"query":null,"variables":"x"}').map(utf8)],
  [1, fc.constantFrom(Uint8Array.of(0x7b, 0x22, 0x71, 0x75, 0x65, 0x72, 0x79, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d), Uint8Array.of(0xc3, 0x28), Uint8Array.of(0xef, 0xbb))],
  [1, fc.constant(gzipSync(utf8(JSON.stringify({ query: POSTS_QUERY }))))],
  [1, fc.integer({ min: 100 * 1024, max: 120 * 1024 }).map((size) => utf8(`{"query":"${'x'.repeat(size)}"}`))],
  [2, fc.json({ maxDepth: 3 }).map(utf8)],
  [2, fc.uint8Array({ maxLength: 200 })],
);

/** The head's framing headers and the bytes after it, for a body and how it is to be framed. */
function frame(body: Uint8Array, framing: Framing): { headers: RawHeader[]; payload: Uint8Array; complete: boolean } {
  const bytes = Buffer.from(body);
  const size = bytes.length;
  const chunks = (last: string) => {
    const half = Math.ceil(size / 2);
    const parts = [bytes.subarray(0, half), bytes.subarray(half)].filter((part) => part.length > 0);
    return Buffer.concat([...parts.flatMap((part) => [Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]), Buffer.from(last)]);
  };
  switch (framing) {
    case 'length':
      return { headers: [['Content-Length', String(size)]], payload: bytes, complete: true };
    case 'none':
      // Without a length there is no body: whatever follows is the next request (answered, or refused).
      return { headers: [], payload: bytes, complete: true };
    case 'short':
      return { headers: [['Content-Length', String(size + 10)]], payload: bytes, complete: false };
    case 'long':
      return { headers: [['Content-Length', String(Math.floor(size / 2))]], payload: bytes, complete: true };
    case 'chunked':
      return { headers: [['Transfer-Encoding', 'chunked']], payload: chunks('0\r\n\r\n'), complete: true };
    case 'chunked-bad':
      return { headers: [['Transfer-Encoding', 'chunked']], payload: Buffer.concat([Buffer.from('zz\r\n'), bytes, Buffer.from('\r\n0\r\n\r\n')]), complete: true };
    case 'chunked-truncated':
      return { headers: [['Transfer-Encoding', 'chunked']], payload: chunks(''), complete: false };
    case 'length-and-chunked':
      return { headers: [['Content-Length', String(size)], ['Transfer-Encoding', 'chunked']], payload: chunks('0\r\n\r\n'), complete: true };
    case 'two-lengths':
      return { headers: [['Content-Length', String(size)], ['Content-Length', String(size + 1)]], payload: bytes, complete: true };
    case 'te-junk':
      return { headers: [['Transfer-Encoding', 'gzip, chunked, x']], payload: chunks('0\r\n\r\n'), complete: true };
    case 'length-junk':
      return { headers: [['Content-Length', `${size}x`]], payload: bytes, complete: true };
  }
}

interface Parts {
  readonly method: string;
  readonly target: string;
  readonly version?: string;
  readonly host: readonly RawHeader[];
  readonly headers: readonly RawHeader[];
  readonly body: Uint8Array;
  readonly framing: Framing;
  readonly eol?: '\r\n' | '\n';
  readonly hostFirst: boolean;
  /** On the wire a body may follow a head that gives it no length (it is then the next request); else not. */
  readonly wire?: boolean;
}

function assemble({ method, target, version = 'HTTP/1.1', host, headers, body, framing, eol = '\r\n', hostFirst, wire = false }: Parts): RawRequest {
  const framed = frame(body, framing === 'none' && body.length > 0 && !wire ? 'length' : framing);
  const request: RawRequest = {
    method,
    target,
    version,
    headers: hostFirst ? [...host, ...headers, ...framed.headers] : [...headers, ...framed.headers, ...host],
    body: framed.payload,
    eol,
    complete: framed.complete,
  };
  // fast-check prints a counterexample with this: the bytes as sent, not a 100 KB Uint8Array literal.
  return Object.defineProperty(request, fc.toStringMethod, { value: () => describeRequest(request) });
}

/**
 * Requests from sound to hostile, for the server on `options.port`, in four shapes so that most reach the
 * application: a GraphQL GET (its query string is the test), a GraphQL POST (its content type and body), any
 * method to any target, and requests hostile on the wire (methods, versions, header bytes, bare LF, framing).
 * Each shape mostly aims at /graphql and sometimes at a near miss of it, so operations that would run are sent
 * to paths where they must not.
 */
export function hostileRequests(options: HostileOptions): fc.Arbitrary<RawRequest> {
  const { port } = options;
  const graphqlOrNearMiss = weighted([8, fc.constant('/graphql')], [3, paths(port)]);
  const withQuery = (path: fc.Arbitrary<string>, freq: number) =>
    fc.tuple(path, fc.option(queryStrings, { freq, nil: undefined })).map(([base, query]) => (query === undefined ? base : `${base}?${query}`));

  const graphqlGet = fc
    .record({
      method: weighted([12, fc.constant('GET')], [1, fc.constantFrom('HEAD', 'get', 'OPTIONS')]),
      target: fc.tuple(graphqlOrNearMiss, queryStrings).map(([path, query]) => `${path}?${query}`),
      host: hostHeaders(port),
      headers: soundHeaders(options),
      body: weighted([8, fc.constant(new Uint8Array())], [1, bodies]),
      framing: weighted<Framing>([3, fc.constant('none')], [1, soundFramings]),
      hostFirst: fc.boolean(),
    })
    .map(assemble);

  const graphqlPost = fc
    .record({
      method: weighted([12, fc.constant('POST')], [1, fc.constantFrom('PUT', 'post', 'PATCH')]),
      target: withQuery(graphqlOrNearMiss, 1),
      host: hostHeaders(port),
      contentType: fc.option(contentTypes, { freq: 12, nil: undefined }),
      headers: soundHeaders(options),
      body: bodies,
      framing: soundFramings,
      hostFirst: fc.boolean(),
    })
    .map(({ contentType, headers, ...parts }) => assemble({ ...parts, headers: [...(contentType === undefined ? [] : [['Content-Type', contentType] as const]), ...headers] }));

  const anyTarget = fc
    .record({
      method: soundMethods,
      target: withQuery(paths(port), 2),
      host: hostHeaders(port),
      headers: fc.tuple(fc.option(contentTypes, { nil: undefined }), soundHeaders(options)).map(([type, rest]): RawHeader[] => [...(type === undefined ? [] : [['Content-Type', type] as const]), ...rest]),
      body: bodies,
      framing: soundFramings,
      hostFirst: fc.boolean(),
    })
    .map(assemble);

  const onTheWire = fc
    .record({
      method: hostileMethods,
      target: withQuery(weighted([2, fc.constant('/graphql')], [3, paths(port)]), 2),
      version: versions,
      host: hostHeaders(port, true),
      headers: fc.tuple(soundHeaders(options), weighted([1, hostileHeaders], [1, fc.constant<RawHeader[]>([])])).map(([sound, hostile]) => [...sound, ...hostile]),
      body: bodies,
      framing: hostileFramings,
      eol: weighted<'\r\n' | '\n'>([4, fc.constant('\r\n')], [1, fc.constant('\n')]),
      hostFirst: fc.boolean(),
    })
    .map((parts) => assemble({ ...parts, wire: true }));

  return weighted([5, graphqlGet], [4, graphqlPost], [3, anyTarget], [2, onTheWire]);
}
