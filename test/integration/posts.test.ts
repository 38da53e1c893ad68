import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPost, createUser } from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const POSTS = /* GraphQL */ `
  query Posts($first: Int, $after: String) {
    posts(first: $first, after: $after) {
      edges { cursor node { id body author { username name } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

describe('posts', () => {
  it('costs two statements per page with authors, whatever the page size', async () => {
    const db = server.database.db;
    const authors = await Promise.all(Array.from({ length: 10 }, () => createUser(db)));
    for (let i = 0; i < 120; i += 1) await createPost(db, authors[i % 10]!.id, { body: `post ${i}` });
    for (const first of [5, 100]) {
      server.statements.reset();
      const response = await server.graphql(POSTS, { variables: { first } });
      expect(response.body.errors).toBeUndefined();
      expect(server.statements.count).toBe(2);
    }
  });
});
