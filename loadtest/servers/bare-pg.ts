/**
 * Baseline: node:http + pg answering "the 20 newest posts with their author's id and name" with one
 * hand-written, joined SQL statement and the same JSON a GraphQL server sends. No GraphQL: the ceiling of
 * Node + PostgreSQL for this work.
 *
 *   PORT, DATABASE_URL, POOL_MAX
 */
import { createServer } from 'node:http';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env['DATABASE_URL'], max: Number(process.env['POOL_MAX'] ?? 10) });
const NEWEST_POSTS = `
  select p.id, p.body, u.id as author_id, u.name as author_name
  from posts p join users u on u.id = p.author_id
  order by p.created_at desc, p.id desc
  limit 20`;

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    pool.query<{ id: string; body: string; author_id: string; author_name: string }>(NEWEST_POSTS).then(
      ({ rows }) => {
        const edges = rows.map((row) => ({
          node: {
            id: Buffer.from(`Post:${row.id}`).toString('base64'),
            body: row.body,
            author: { id: Buffer.from(`User:${row.author_id}`).toString('base64'), name: row.author_name },
          },
        }));
        const body = JSON.stringify({ data: { posts: { edges } } });
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        response.end(body);
      },
      () => {
        response.writeHead(500).end();
      },
    );
  });
});
server.keepAliveTimeout = 65_000;
const port = Number(process.env['PORT']);
server.listen(port, '127.0.0.1', () => console.log(`bare-pg listening on ${port}`));
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
