/**
 * Every operation Tally's own clients persist (persisted-queries/manifest.json) runs through the real server, as
 * a signed-in viewer with production's default budget and limits, and answers without an error: a trusted
 * document the limits refuse, or one the schema no longer matches, would be a broken client.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest, type ApolloManifest } from '../../src/persisted/manifest.js';
import { createPosts, createUser, follow } from '../helpers/factories.js';
import { globalId } from '../helpers/assertions.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const manifest = JSON.parse(readFileSync(new URL('../../persisted-queries/manifest.json', import.meta.url), 'utf8')) as ApolloManifest;
const documents = readManifest(manifest, 'manifest.json');

let server: TestServer;
let viewerId: number;
let variablesOf: Record<string, Record<string, unknown>>;

beforeAll(async () => {
  // Production's defaults for a viewer (startTestServer's own are unlimited).
  server = await startTestServer({ COST_BUDGET_VIEWER: '1000', COST_RESTORE_VIEWER: '50' });
  const db = server.database.db;
  const [viewer, author, other] = [await createUser(db, { balance: 10_000n }), await createUser(db), await createUser(db)];
  viewerId = viewer.id;
  await follow(db, viewer.id, author.id);
  await createPosts(db, Array.from({ length: 25 }, (_, i) => ({ authorId: author.id, body: `post ${i}` })));
  variablesOf = {
    Profile: { username: author.username },
    Followers: { username: author.username },
    CreatePost: { input: { body: 'persisted' } },
    Deposit: { input: { amount: '5.00', currency: 'USD', idempotencyKey: 'persisted-deposit' } },
    Withdraw: { input: { amount: '1.00', currency: 'USD', idempotencyKey: 'persisted-withdraw' } },
    Transfer: { input: { to: globalId('User', other.id), amount: '1.00', currency: 'USD', idempotencyKey: 'persisted-transfer' } },
    FollowUser: { input: { userId: globalId('User', other.id) } },
    UnfollowUser: { input: { userId: globalId('User', other.id) } },
    SignUp: { input: { username: 'persisted_user', name: 'Persisted', email: 'persisted@example.test' } },
  };
});
afterAll(() => server?.close());

describe('the persisted operations', () => {
  it.each(manifest.operations.map((operation) => [operation.name, operation.type] as const))('%s (%s) runs within the default limits', async (name) => {
    const operation = manifest.operations.find((each) => each.name === name)!;
    const response = await server.graphql<Record<string, { errors?: unknown[] } | null>>(documents.get(operation.id)!, { as: viewerId, variables: variablesOf[name] ?? {} });
    expect(response.body.errors, JSON.stringify(response.body.errors)).toBeUndefined();
    expect(response.status).toBe(200);
    const cost = (response.body as { extensions?: { cost?: { requestedQueryCost: number; maximumQueryCost: number } } }).extensions?.cost;
    expect(cost!.requestedQueryCost).toBeLessThanOrEqual(cost!.maximumQueryCost);
    // A mutation's own errors (its payload's `errors`) would mean the inputs above are wrong, not the document.
    for (const payload of Object.values(response.body.data ?? {})) expect(payload?.errors ?? []).toEqual([]);
  });
});
