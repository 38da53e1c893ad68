/**
 * The load-test switch UNBATCHED_LOADERS turns batching off: the same page then costs one statement per author,
 * the N+1 the loaders exist to remove. This proves the switch works (the load test's baseline depends on it)
 * and shows, by contrast, what batching saves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPost, createUser } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ UNBATCHED_LOADERS: 'true' });
  const authors = [];
  for (let i = 0; i < 20; i += 1) authors.push(await createUser(server.database.db));
  for (const author of authors) await createPost(server.database.db, author.id);
});
afterAll(() => server.close());

describe('UNBATCHED_LOADERS', () => {
  it('costs 1 + one statement per distinct author for a page of posts with authors (no lookahead join either)', async () => {
    server.statements.reset();
    const response = await server.graphql('{ posts(first: 20) { edges { node { author { name } } } } }');
    expect(response.body.errors).toBeUndefined();
    expect(server.statements.count).toBe(21);
  });

  it('is refused in production', () => {
    expect(() =>
      loadConfig({ NODE_ENV: 'production', UNBATCHED_LOADERS: 'true', JWT_SECRET: 'x'.repeat(40), JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' }),
    ).toThrow(/UNBATCHED_LOADERS/);
  });
});
