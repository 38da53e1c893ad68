/**
 * Queries prepared once (src/db/prepared.ts) on a real database: built once per shape however many requests run
 * them, counted for the request that ran each, unnamed (so PgBouncer's transaction mode runs them), and run
 * inside a transaction when handed one.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparedShapes } from '../../src/db/prepared.js';
import { users } from '../../src/db/schema.js';
import { createUser } from '../helpers/factories.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(() => testDb?.close());

describe('preparedShapes', () => {
  it('builds each shape once, binds its values per call, and counts each run for its request', async () => {
    const [ada, bob] = [await createUser(testDb.database.db, { name: 'Ada' }), await createUser(testDb.database.db, { name: 'Bob' })];
    const builds: string[] = [];
    const byId = preparedShapes(
      (input: { id: number; upper: boolean }) => (input.upper ? 'upper' : 'plain'),
      (db, input) => {
        builds.push(input.upper ? 'upper' : 'plain');
        const name = input.upper ? sql<string>`upper(${users.name})` : sql<string>`${users.name}`;
        return db.select({ name }).from(users).where(eq(users.id, sql.placeholder('id')));
      },
      (input) => ({ id: input.id }),
    );
    let statements = 0;
    const request = testDb.database.forRequest(() => (statements += 1));
    expect(await byId(request, { id: ada.id, upper: false })).toEqual([{ name: 'Ada' }]);
    expect(await byId(request, { id: bob.id, upper: false })).toEqual([{ name: 'Bob' }]);
    expect(await byId(testDb.database.forRequest(() => {}), { id: ada.id, upper: true })).toEqual([{ name: 'ADA' }]);
    expect(await byId(request, { id: bob.id, upper: true })).toEqual([{ name: 'BOB' }]);
    expect(builds).toEqual(['plain', 'upper']);
    expect(statements).toBe(3);
  });

  it('runs inside a transaction when handed one: it sees the transaction\'s own writes', async () => {
    const names = preparedShapes(
      () => '',
      (db) => db.select({ name: users.name }).from(users).where(eq(users.username, sql.placeholder('username'))),
      (username: string) => ({ username }),
    );
    let inside: unknown;
    await testDb.database.db
      .transaction(async (tx) => {
        await tx.insert(users).values({ username: 'inside_tx', name: 'Inside', email: 'inside@example.test' });
        inside = await names(tx, 'inside_tx');
        tx.rollback();
      })
      .catch(() => undefined); // drizzle's rollback throws to end the transaction
    expect(inside).toEqual([{ name: 'Inside' }]);
    expect(await names(testDb.database.db, 'inside_tx')).toEqual([]);
  });
});
