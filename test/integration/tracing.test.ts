/**
 * OpenTelemetry, through src/main.ts as production runs it, against an OTLP/HTTP collector in this process: with
 * OTEL_EXPORTER_OTLP_ENDPOINT set, a request that arrives with a W3C `traceparent` continues that trace through
 * the HTTP server span, the operation's execution span and, on PostgreSQL and Redis, a span per statement and
 * command beneath; the request's log line carries the trace id; no span attribute holds a query's parameter.
 * Without the variable, no span is sent and no log line carries a trace id.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { postGraphQL } from '../helpers/http.js';
import { startMain } from '../helpers/main-process.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}
interface OtlpBody {
  resourceSpans?: { resource?: { attributes?: { key: string; value: { stringValue?: string } }[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

let testDb: TestDatabase | undefined;
const services: Record<string, string> = {
  ...(process.env['REDIS_URL'] ? { REDIS_URL: process.env['REDIS_URL'], REDIS_KEY_PREFIX: `tally:test:${randomBytes(6).toString('hex')}:` } : {}),
};
const SECRET = `secret-username-${randomBytes(6).toString('hex')}`;
const QUERY = 'query Traced($u: String) { posts(first: 2) { edges { node { id } } } user(username: $u) { id } }';

let collector: Server;
let endpoint: string;
const bodies: OtlpBody[] = [];

beforeAll(async () => {
  // On PostgreSQL a migrated database of this file's own; PGlite in memory otherwise.
  if (process.env['DATABASE_URL']) {
    testDb = await createTestDatabase();
    services['DATABASE_URL'] = testDb.url!;
  } else {
    services['PGLITE_DIR'] = 'memory://';
  }
  collector = createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') bodies.push(JSON.parse(text) as OtlpBody);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => collector.close(resolve));
  await testDb?.close();
});

const spans = () => bodies.flatMap((body) => (body.resourceSpans ?? []).flatMap((resource) => (resource.scopeSpans ?? []).flatMap((scope) => scope.spans ?? [])));

async function ask(port: number, traceId: string) {
  const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
  const response = await postGraphQL(`http://127.0.0.1:${port}`, { query: QUERY, variables: { u: SECRET } }, { traceparent });
  expect(response.status).toBe(200);
}

describe('with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('continues the client\'s trace through the server, the execution and the database, and logs its id', async () => {
    const main = await startMain({ ...services, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'tally-under-test' });
    const traceId = randomBytes(16).toString('hex');
    try {
      await ask(main.port, traceId);
      main.child.kill('SIGTERM');
      // The batch goes out as the process stops.
      expect(await main.exited, main.output()).toEqual({ code: 0, signal: null });
    } finally {
      main.kill();
    }
    const traced = spans().filter((span) => span.traceId === traceId);
    const server = traced.find((span) => span.kind === 2);
    expect(server, JSON.stringify(traced.map((span) => span.name))).toBeDefined();
    const execution = traced.find((span) => span.name === 'query Traced');
    expect(execution?.parentSpanId).toBe(server!.spanId);
    // db.system.name in the current semantic conventions, db.system in the older ones.
    const system = (span: OtlpSpan, name: string) => span.attributes?.some((a) => a.key.startsWith('db.system') && a.value['stringValue'] === name);
    if (process.env['DATABASE_URL']) {
      const statements = traced.filter((span) => system(span, 'postgresql'));
      expect(statements.length).toBeGreaterThan(0);
      expect(statements.every((span) => span.parentSpanId !== undefined)).toBe(true);
    }
    if (process.env['REDIS_URL']) {
      expect(traced.some((span) => system(span, 'redis'))).toBe(true);
    }
    expect(JSON.stringify(bodies)).not.toContain(SECRET);
    expect(JSON.stringify(bodies)).toContain('tally-under-test');
    const line = main
      .output()
      .split('\n')
      .find((text) => text.includes('"msg":"graphql request"'));
    expect(line).toContain(`"traceId":"${traceId}"`);
  }, 60_000);
});

describe('without it', () => {
  it('sends nothing and logs no trace id', async () => {
    const before = bodies.length;
    const main = await startMain(services);
    try {
      await ask(main.port, randomBytes(16).toString('hex'));
      main.child.kill('SIGTERM');
      expect(await main.exited).toEqual({ code: 0, signal: null });
    } finally {
      main.kill();
    }
    expect(bodies.length).toBe(before);
    expect(main.output()).not.toContain('traceId');
  }, 60_000);
});
