/**
 * src/db/client.ts on its own: the embedded database in memory leaves no folder behind, and a pooled
 * PostgreSQL connection that fails while idle is reported to the caller (the process logs it) instead of
 * vanishing without a word.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';

describe('PGlite in memory (PGLITE_DIR=memory://…)', () => {
  it('opens and answers without creating a folder for the URL in the working directory', async () => {
    // Read as a path, "memory://tally" has the parent folder "memory:" (and "memory://" the parent ".").
    const folder = join(process.cwd(), 'memory:');
    expect(existsSync(folder), 'a "memory:" folder is already there').toBe(false);
    const database = await openDatabase({ kind: 'pglite', dataDir: 'memory://tally' });
    try {
      await database.ping();
      expect(existsSync(folder)).toBe(false);
    } finally {
      await database.close();
    }
  });
});

const url = process.env['DATABASE_URL'];

describe.skipIf(!url)('a pg pool (DATABASE_URL)', () => {
  it('reports an idle connection that fails through onPoolError, and goes on serving', async () => {
    const errors: Error[] = [];
    const database = await openDatabase(
      { kind: 'postgres', url: url!, poolMax: 2, statementTimeoutMs: 5_000, connectTimeoutMs: 5_000 },
      { onPoolError: (error) => errors.push(error) },
    );
    try {
      const pool = database.pool!;
      const client = await pool.connect();
      client.release();
      expect(pool.idleCount).toBe(1);
      // The connection's socket goes away under it while it sits idle in the pool, as when PostgreSQL restarts.
      (client as pg.PoolClient & { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      await expect.poll(() => errors.length).toBe(1);
      expect(errors[0]).toBeInstanceOf(Error);
      expect(errors[0]!.message).toMatch(/terminated|closed|ended/i);
      // The pool dropped the broken connection and opens a new one.
      await database.ping();
      await database.db.execute(sql`select 1`);
    } finally {
      await database.close();
    }
  });
});
