/**
 * Baseline: Tally's GraphQL execution alone. Tally's own schema, per-request loaders and statement-counting
 * database handle run the feed's document, compiled once by graphql-jit, behind bare node:http: no yoga and no
 * request-path stage (request id, auth, limits, persisted lookup, cost budget, masking, log line, metrics,
 * admission). Between this row and Tally's is what the HTTP framework and the stages cost; between this row and
 * `bare node:http + pg` is what GraphQL execution costs over one hand-written statement (issue 12: what stands
 * between Tally and its targets, measured). Sent the feed by id, as Tally is; it knows that one document only.
 *
 *   PORT, DATABASE_URL, POOL_MAX
 */
import { createServer } from 'node:http';
import { parse } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { loadConfig } from '../../src/config.js';
import type { Context } from '../../src/context.js';
import { openDatabase } from '../../src/db/client.js';
import { createLoaders } from '../../src/loaders/index.js';
import { schema } from '../../src/schema/index.js';
import { documentIdOf, LOAD_OPERATIONS } from '../operations.js';

const config = loadConfig({ DATABASE_URL: process.env['DATABASE_URL'], POOL_MAX: process.env['POOL_MAX'], NODE_ENV: 'test' });
const database = await openDatabase(config.database);
const compiled = compileQuery(schema, parse(LOAD_OPERATIONS.LoadFeed));
if (!isCompiledQuery(compiled)) throw new Error(`the feed does not compile: ${JSON.stringify(compiled.errors)}`);
const feedId = documentIdOf('LoadFeed');

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const send = (status: number, value: unknown) => {
      const body = JSON.stringify(value);
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    };
    let params: { documentId?: unknown; query?: unknown; variables?: Record<string, unknown> };
    try {
      params = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof params;
    } catch {
      params = {};
    }
    // The runner's readiness probe sends `{__typename}`; the answer check and the load send the feed's id.
    if (params.documentId !== feedId) {
      send(params.query === '{__typename}' ? 200 : 404, params.query === '{__typename}' ? { data: { __typename: 'Query' } } : { errors: [{ message: 'only the feed is served here' }] });
      return;
    }
    // The same counting handle Tally's requests get; the count goes nowhere here.
    const db = database.forRequest(() => {});
    // What the feed's resolvers read: an anonymous viewer, the request's loaders and handle.
    const context = { viewer: null, loaders: createLoaders(db), db, lookahead: true, cost: undefined } as unknown as Context;
    Promise.resolve(compiled.query(undefined, context, params.variables ?? {})).then(
      (result) => send(200, result),
      () => send(500, { errors: [{ message: 'execution failed' }] }),
    );
  });
});
server.keepAliveTimeout = 65_000;
const port = Number(process.env['PORT']);
server.listen(port, '127.0.0.1', () => console.log(`tally-executor listening on ${port}`));
process.on('SIGTERM', () => server.close(() => void database.close().then(() => process.exit(0))));
