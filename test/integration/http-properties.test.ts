/**
 * Properties of the HTTP layer, whatever a client sends (fast-check): random and hostile methods, targets, Host
 * values, headers, query strings, bodies and framings (test/helpers/hostile-http.ts), written byte by byte on a
 * bare TCP socket (test/helpers/raw-http.ts) to the real server, stacked as src/main.ts stacks it, in production
 * and in development. For every request:
 *
 * - no 5xx, except a clean 503 the client may retry (JSON, `extensions.retryable`, Retry-After);
 * - no stack trace or internal path in the answer (nor `originalError`, in production);
 * - no operation run, nor a kept answer served, for a request whose path is not exactly /graphql;
 * - a complete request is answered, and afterwards the server is alive: GET /healthz answers 200 within 1 s.
 *
 * Seeded and bounded so it runs in the suite in seconds: HTTP_PROPERTY_SEED and HTTP_PROPERTY_RUNS (per mode)
 * change that, and `npm run test:http-properties` runs this file alone with many more runs. A failure prints
 * the seed and the shrunk request; the fixed cases at the end are the bugs these properties found first.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPosts, createUsers } from '../helpers/factories.js';
import { hostileRequests, nestedArrays, NEWEST_POSTS_ID, pathOf, POSTS_QUERY } from '../helpers/hostile-http.js';
import { listenLikeMain, type HttpServer } from '../helpers/http.js';
import { describeRequest, encodeRequest, exchange, plainRequest, type Outcome, type RawRequest, type RawResponse } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SEED = Number(process.env['HTTP_PROPERTY_SEED'] ?? 2212);
const RUNS = Number(process.env['HTTP_PROPERTY_RUNS'] ?? 150);
/** A complete request must be answered within this; an incomplete one is given less, and owed nothing. */
const ANSWER_MS = 3_000;
const INCOMPLETE_MS = 250;
const HEALTH_MS = 1_000;
/** Shrinking a failure sends a request per step: bounded, so a failing run ends in seconds (minutes at worst). */
const MAX_SHRINKS = 40;

const JWT = { JWT_SECRET: 'http-properties-test-secret-0123456789abcdef', JWT_ISSUER: 'tally-test', JWT_AUDIENCE: 'tally-test-api' };

type Mode = 'production' | 'development';

interface Target {
  readonly mode: Mode;
  readonly server: TestServer;
  readonly http: HttpServer;
  readonly port: number;
  /** A token for a real user, so some requests are signed in. */
  readonly token: string;
}

const targets = new Map<Mode, Target>();
const target = (mode: Mode) => targets.get(mode)!;

async function start(mode: Mode, env: Record<string, string>): Promise<Target> {
  const server = await startTestServer({ LOG_LEVEL: 'silent', NODE_ENV: mode, ...env });
  const http = await listenLikeMain(server);
  const users = await createUsers(server.database.db, 3);
  await createPosts(server.database.db, Array.from({ length: 12 }, (_, i) => ({ authorId: users[i % 3]!.id })));
  return { mode, server, http, port: Number(new URL(http.base).port), token: await server.tokenFor(users[0]!.id) };
}

beforeAll(async () => {
  console.log(`http-properties: seed ${SEED}, ${RUNS} runs per mode (HTTP_PROPERTY_SEED, HTTP_PROPERTY_RUNS)`);
  const [production, development] = await Promise.all([
    // Every production default as it is: trusted persisted operations only, no GET queries, no GraphiQL.
    start('production', JWT),
    start('development', {}),
  ]);
  targets.set('production', production).set('development', development);
});
afterAll(async () => {
  for (const each of targets.values()) {
    await each.http.close();
    await each.server.close();
  }
});

/**
 * How a test sees that a request ran an operation, without mocking anything, by three independent signs:
 *
 * - the server's own Prometheus counters: tally_graphql_requests_total, which use-observability counts for every
 *   request the GraphQL pipeline (params, parse, validate, execute) took as one to /graphql, whatever it then
 *   answered, and tally_response_cache_requests_total, which the cached-GET front counts for every answer it
 *   served from the cache (hit or 304) or looked up before an execution (miss). Stricter than "executed", on
 *   purpose: a request to another path that reaches the pipeline at all (a refused mutation over GET included)
 *   has been routed by something other than its path, and the next document it carries will run;
 * - the test database's statement counter (helpers/database.ts): every resolver that reads data issues SQL
 *   through it, answer shown or not (/readyz's `select 1` does not pass it today; it is let through if it ever does);
 * - `"data":` in the answer: GraphQL over HTTP sends `data` only once execution started (a kept answer too).
 *
 * The counters catch operations that touch no table ({ __typename }), the SQL those whose answer never reaches
 * the client, `data` answers served without the pipeline. All are read once the server holds no connection,
 * so a request's late work is not counted against the next one.
 */
interface Executions {
  readonly graphqlRequests: number;
  readonly cacheLookups: number;
}

async function counter(server: TestServer, name: string): Promise<number> {
  const metric = server.metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, { value }) => sum + value, 0);
}

async function executions(server: TestServer): Promise<Executions> {
  return { graphqlRequests: await counter(server, 'tally_graphql_requests_total'), cacheLookups: await counter(server, 'tally_response_cache_requests_total') };
}

const dataStatements = (server: TestServer) => server.statements.log.filter((statement) => !/^\s*select 1\s*;?\s*$/i.test(statement));

/** Until the server holds no connection (our sockets are closed and it has seen so), or 1 s. */
async function settled(http: HttpServer): Promise<void> {
  const deadline = performance.now() + 1_000;
  for (;;) {
    const open = await new Promise<number>((resolve, reject) => http.http.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    if (open === 0 || performance.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Signs of internals a client must never see: a stack frame, a source or install path, an error class's name. */
const LEAKS: readonly RegExp[] = [
  /\n\s+at /,
  /\bat \S+ \(/,
  /\.(ts|js|mjs|cjs):\d+/,
  /\/work\//,
  /node_modules/,
  /src\//,
  /"stack"/,
  /TypeError/,
  /RangeError/,
  /SyntaxError/,
  /ReferenceError/,
];
const PRODUCTION_LEAKS: readonly RegExp[] = [...LEAKS, /originalError/];

function describeOutcome(outcome: Outcome): string {
  if (outcome.kind !== 'response') {
    const error = outcome.kind !== 'timeout' && outcome.error ? ` (${outcome.error})` : '';
    return `${outcome.kind} after ${outcome.received.length} bytes ${JSON.stringify(outcome.received.toString('latin1').slice(0, 300))}${error}`;
  }
  const { status, headers, body } = outcome.response;
  return `${status} ${headers['content-type'] ?? '(no content-type)'} ${JSON.stringify(body.toString('utf8').slice(0, 600))}`;
}

/** What every answer must be, to any request. */
function expectSafeAnswer(mode: Mode, request: RawRequest, response: RawResponse, detail: string): void {
  const text = response.body.toString('utf8');
  if (response.status >= 500) {
    expect(response.status, `a 5xx other than 503: ${detail}`).toBe(503);
    let retryable = false;
    try {
      const body = JSON.parse(text) as { errors?: { extensions?: { retryable?: unknown } }[] };
      retryable = (body.errors ?? []).some((error) => error.extensions?.retryable === true);
    } catch {
      // Not JSON: not a clean 503.
    }
    expect(retryable, `a 503 without a retryable JSON error: ${detail}`).toBe(true);
    expect(response.headers['retry-after'] ?? '', `a 503 without Retry-After: ${detail}`).toMatch(/\S/);
  }
  // GraphiQL's page (development only) inlines its bundle, whose code names error classes.
  if (mode === 'development' && response.status === 200 && (response.headers['content-type'] ?? '').startsWith('text/html')) return;
  // An answer may quote what it was sent (a 404 names the path): only what the request did not hold counts.
  const sent = encodeRequest(request).toString('latin1');
  const shown = `${Object.entries(response.headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n')}\n\n${text}`;
  for (const pattern of mode === 'production' ? PRODUCTION_LEAKS : LEAKS) {
    if (!pattern.test(sent)) expect(shown, `the answer leaks internals (${String(pattern)}): ${detail}`).not.toMatch(pattern);
  }
}

/**
 * Whether a complete request may go without an answer: node closes a CONNECT outright when nothing listens for
 * tunnels (Tally does not); and a server that refuses a request larger than it reads (a body past 100 KB, a
 * head past 16 KB) closes with bytes unread, so TCP resets the connection, which may destroy the answer in
 * flight.
 */
function unanswerable(request: RawRequest, outcome: Outcome): boolean {
  if (outcome.kind !== 'closed') return false;
  if (request.method === 'CONNECT') return true;
  return (outcome.error === 'ECONNRESET' || outcome.error === 'EPIPE') && encodeRequest(request).length > 16 * 1024;
}

/**
 * Sends `request` to `target` and checks every property; returns what came back, for cases that check more.
 */
async function checked(target: Target, request: RawRequest): Promise<Outcome> {
  const { server, http, port, mode } = target;
  await settled(http);
  const before = await executions(server);
  server.statements.reset();

  const outcome = await exchange(port, encodeRequest(request), { timeoutMs: request.complete ? ANSWER_MS : INCOMPLETE_MS, head: request.method === 'HEAD' });
  const detail = `${mode}: ${describeRequest(request)} → ${describeOutcome(outcome)}`;
  if (outcome.kind === 'response') expectSafeAnswer(mode, request, outcome.response, detail);
  else if (outcome.kind === 'garbled') expect.fail(`the answer is not HTTP (${outcome.error}): ${detail}`);
  else if (request.complete) expect(unanswerable(request, outcome), `a complete request was not answered: ${detail}`).toBe(true);

  const health = await exchange(port, encodeRequest(plainRequest(port, 'GET', '/healthz')), { timeoutMs: HEALTH_MS });
  expect(health.kind === 'response' && health.response.status, `GET /healthz after it: ${describeOutcome(health)}; ${detail}`).toBe(200);

  if (pathOf(request.target) !== '/graphql') {
    await settled(http);
    const after = await executions(server);
    const notGraphql = `for a path not /graphql: ${detail}`;
    expect(after.graphqlRequests - before.graphqlRequests, `the GraphQL pipeline took a request (tally_graphql_requests_total) ${notGraphql}`).toBe(0);
    expect(after.cacheLookups - before.cacheLookups, `the response cache answered or looked up a request ${notGraphql}`).toBe(0);
    expect(dataStatements(server), `SQL ran ${notGraphql}`).toEqual([]);
    if (outcome.kind === 'response') expect(outcome.response.body.toString('utf8'), `data answered ${notGraphql}`).not.toMatch(/"data"\s*:/);
  }
  return outcome;
}

const MODES: readonly Mode[] = ['production', 'development'];

describe.each(MODES)('%s: any request', (mode) => {
  it(
    `keeps the properties for ${RUNS} random requests (seed ${SEED})`,
    async () => {
      const { port, token } = target(mode);
      const requests = fc.limitShrink(hostileRequests({ port, token }), MAX_SHRINKS);
      await fc.assert(
        fc.asyncProperty(requests, async (request) => {
          await checked(target(mode), request);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    },
    // A request takes milliseconds, an incomplete one a quarter second; shrinking a request left unanswered
    // costs up to ANSWER_MS + HEALTH_MS a step.
    60_000 + RUNS * 300 + MAX_SHRINKS * (ANSWER_MS + HEALTH_MS),
  );
});

/** The first answer's JSON body. */
function json(outcome: Outcome): { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } {
  expect(outcome.kind).toBe('response');
  return JSON.parse((outcome as { response: RawResponse }).response.body.toString('utf8')) as ReturnType<typeof json>;
}
const statusOf = (outcome: Outcome) => (outcome.kind === 'response' ? outcome.response.status : outcome.kind);

describe.each(MODES)('%s: the requests that broke it first', (mode) => {
  it('answers variables nested 3,000 arrays deep (raw brackets) without a 500', async () => {
    const { port } = target(mode);
    const variables = `{"first":5,"x":${nestedArrays(3_000)}}`;
    const outcome = await checked(target(mode), plainRequest(port, 'GET', `/graphql?documentId=${NEWEST_POSTS_ID}&variables=${variables}`));
    expect(statusOf(outcome)).toBeLessThan(500);
  });

  it('answers variables that are not JSON (%7Bx) with 400', async () => {
    const { port } = target(mode);
    const outcome = await checked(target(mode), plainRequest(port, 'GET', `/graphql?documentId=${NEWEST_POSTS_ID}&variables=%7Bx`));
    expect(statusOf(outcome)).toBe(400);
    expect(json(outcome).errors?.length).toBeGreaterThan(0);
  });

  it('answers a Host header that is no host ("a b") without a 500 or a stack trace', async () => {
    const { port } = target(mode);
    const outcome = await checked(target(mode), plainRequest(port, 'GET', '/healthz', [['Host', 'a b']]));
    expect(statusOf(outcome)).toBeLessThan(500);
  });

  it('runs no operation for GET /healthz whose Host names /graphql with an id', async () => {
    const { port } = target(mode);
    const request = plainRequest(port, 'GET', '/healthz', [['Host', `127.0.0.1:${port}/graphql?documentId=${NEWEST_POSTS_ID}&x=`]]);
    // checked() fails on any sign of an execution; what is answered is the health check, or a refusal.
    const outcome = await checked(target(mode), request);
    const status = statusOf(outcome);
    expect([200, 400], `answered ${status}`).toContain(status);
    if (status === 200) expect(json(outcome)).toEqual({ status: 'ok' });
  });

  it('reads a JSON body whose Content-Type is APPLICATION/JSON (media types are case-insensitive)', async () => {
    const { port } = target(mode);
    const bodies = [JSON.stringify({ documentId: NEWEST_POSTS_ID, variables: { first: 2 } }), ...(mode === 'development' ? [JSON.stringify({ query: POSTS_QUERY })] : [])];
    for (const body of bodies) {
      const outcome = await checked(target(mode), plainRequest(port, 'POST', '/graphql', [['Content-Type', 'APPLICATION/JSON'], ['Accept', 'application/json']], body));
      expect(statusOf(outcome), describeOutcome(outcome)).toBe(200);
      const answer = json(outcome);
      expect(answer.errors).toBeUndefined();
      expect(answer.data).toMatchObject({ posts: { edges: expect.any(Array) as unknown } });
    }
  });

  it('answers a subscription (the schema has none) without a 500', async () => {
    // Found by these properties once the five above were fixed: graphql-js validates it, graphql-jit then throws.
    const { port } = target(mode);
    const body = JSON.stringify({ query: 'subscription { __typename }' });
    const outcome = await checked(target(mode), plainRequest(port, 'POST', '/graphql', [['Content-Type', 'application/json']], body));
    expect(statusOf(outcome), describeOutcome(outcome)).toBeLessThan(500);
    expect(json(outcome).errors?.length).toBeGreaterThan(0);
  });

  it('answers a POST body that is not JSON with 400, quoting no parser error', async () => {
    const { port } = target(mode);
    const outcome = await checked(target(mode), plainRequest(port, 'POST', '/graphql', [['Content-Type', 'application/json']], '{"query": "{ po'));
    // checked() refuses originalError in production, and a parser's error class or stack in either mode.
    expect(statusOf(outcome)).toBe(400);
    expect(json(outcome).errors?.length).toBeGreaterThan(0);
  });
});
