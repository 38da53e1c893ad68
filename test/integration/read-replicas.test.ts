/**
 * Read replicas (DATABASE_REPLICA_URLS): a second test database stands in for the replica, holding what the
 * primary held when it last caught up (the same users) plus one post the primary does not have, so every answer
 * says which database served it. Queries go to the replica; a mutation, and its viewer's reads for
 * REPLICA_AFTER_WRITE_MS after it, to the primary, on the instance that took the write and, with REDIS_URL, on
 * another sharing its Redis. No write ever reaches the replica. Each server has a primary database of its own,
 * with the same rows as the replica's (ids agree), so the second's primary shows whatever was written to it.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Db } from '../../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createPost, createUser } from '../helpers/factories.js';
import { CREATE_POST } from '../helpers/mutations.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const url = process.env['DATABASE_URL'];
const redisUrl = process.env['REDIS_URL'];
const AFTER_WRITE_MS = 1_500;
const NEWEST = '{ posts(first: 3) { edges { node { body author { username } } } } }';
const ONLY_ON_THE_REPLICA = 'only on the replica';

type Page = { posts: { edges: { node: { body: string } }[] } };
const bodies = (page: Page | null | undefined) => page?.posts.edges.map((edge) => edge.node.body) ?? [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const count = async (db: Db, body: string) => Number(rowsOf<{ n: string }>(await db.execute(sql`select count(*) as n from posts where body = ${body}`))[0]!.n);

describe.runIf(url)('read replicas', () => {
  let replica: TestDatabase;
  let first: TestServer;
  let second: TestServer;
  let writer: number;
  let reader: number;

  beforeAll(async () => {
    replica = await createTestDatabase();
    const env = { DATABASE_REPLICA_URLS: replica.url!, REPLICA_AFTER_WRITE_MS: String(AFTER_WRITE_MS), MAX_BATCH_OPERATIONS: '2' };
    // One prefix: the two servers share their Redis stores, the recent writers among them, as instances do.
    const shared = { database: { replicaUrls: [replica.url!] }, redisPrefix: `tally:test:${randomUUID()}:` };
    first = await startTestServer({ ...env, DATABASE_URL: url! }, undefined, shared);
    second = await startTestServer({ ...env, DATABASE_URL: url! }, undefined, shared);
    for (const db of [first.database.db, second.database.db, replica.database.db]) {
      writer = (await createUser(db, { username: 'writer' })).id;
      reader = (await createUser(db, { username: 'reader' })).id;
      await createPost(db, writer, { body: 'on every database', createdAt: new Date('2026-01-01T00:00:00Z') });
    }
    await createPost(replica.database.db, writer, { body: ONLY_ON_THE_REPLICA, createdAt: new Date('2026-01-02T00:00:00Z') });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([first?.close(), second?.close()]);
    await replica?.close();
  });

  it('sends a query to the replica', async () => {
    const anonymous = await first.graphql<Page>(NEWEST);
    expect(anonymous.body.errors).toBeUndefined();
    expect(bodies(anonymous.body.data)).toEqual([ONLY_ON_THE_REPLICA, 'on every database']);
    const signedIn = await first.graphql<Page>(NEWEST, { as: reader });
    expect(bodies(signedIn.body.data)).toEqual([ONLY_ON_THE_REPLICA, 'on every database']);
  });

  it('counts the replica statements of a request as its own', async () => {
    first.statements.reset();
    const response = await first.graphql<Page>(NEWEST);
    expect(response.body.errors).toBeUndefined();
    // The feed's page with its authors joined: one statement, sent to the replica and counted all the same.
    expect(first.statements.count).toBe(1);
  });

  it("runs a mutation on the primary, and its viewer's reads there until the window closes", async () => {
    const created = await first.graphql<{ createPost: { post: { body: string } | null; errors: unknown[] } }>(CREATE_POST, {
      as: writer,
      variables: { input: { body: 'just written' } },
    });
    expect(created.body.errors).toBeUndefined();
    // Its payload is read back from the primary it was written to.
    expect(created.body.data?.createPost.post?.body).toBe('just written');
    expect(created.body.data?.createPost.errors).toEqual([]);
    expect(await count(first.database.db, 'just written')).toBe(1);
    expect(await count(replica.database.db, 'just written')).toBe(0);

    // Right after the write the writer reads it; another viewer, and anonymous clients, still read the replica.
    expect(bodies((await first.graphql<Page>(NEWEST, { as: writer })).body.data)[0]).toBe('just written');
    expect(bodies((await first.graphql<Page>(NEWEST, { as: reader })).body.data)[0]).toBe(ONLY_ON_THE_REPLICA);
    expect(bodies((await first.graphql<Page>(NEWEST)).body.data)[0]).toBe(ONLY_ON_THE_REPLICA);

    await sleep(AFTER_WRITE_MS + 300);
    expect(bodies((await first.graphql<Page>(NEWEST, { as: writer })).body.data)[0]).toBe(ONLY_ON_THE_REPLICA);
  });

  it.runIf(redisUrl)("keeps the writer's reads on the primary on another instance sharing its Redis", async () => {
    const created = await second.graphql(CREATE_POST, { as: writer, variables: { input: { body: 'written on the second' } } });
    expect(created.body.errors).toBeUndefined();
    // The first instance never saw the write: only the mark in Redis sends the writer's read to its primary.
    expect(bodies((await first.graphql<Page>(NEWEST, { as: writer })).body.data)[0]).toBe('just written');
    expect(bodies((await first.graphql<Page>(NEWEST, { as: reader })).body.data)[0]).toBe(ONLY_ON_THE_REPLICA);
  });

  it('routes each operation of a batch by its own type', async () => {
    const token = await first.tokenFor(reader);
    const response = await first.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify([{ query: NEWEST }, { query: CREATE_POST, variables: { input: { body: 'batched write' } } }]),
    });
    const [read, write] = (await response.json()) as [{ data: Page; errors?: unknown }, { data: { createPost: { post: { body: string } } }; errors?: unknown }];
    // Which database the query met depends on whether the write's mark came first: both are right answers.
    expect(read.errors).toBeUndefined();
    expect(bodies(read.data)).toContain('on every database');
    expect(write.errors).toBeUndefined();
    expect(write.data.createPost.post.body).toBe('batched write');
    expect(await count(first.database.db, 'batched write')).toBe(1);
    expect(await count(replica.database.db, 'batched write')).toBe(0);
  });
});
