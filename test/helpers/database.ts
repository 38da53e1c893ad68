/**
 * A database of the test file's own: a PGlite copy of the migrated template by default, or, with DATABASE_URL
 * set, a new PostgreSQL database created (and dropped) through that URL, PgBouncer included. Every SQL
 * statement the app sends is counted, so tests can assert how many a request costs.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';

export interface TestDatabase {
  readonly database: Database;
  /** SQL statements sent since the last reset. */
  readonly statements: { count: number; log: string[]; reset(): void };
  close(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const statements = {
    count: 0,
    log: [] as string[],
    reset() {
      this.count = 0;
      this.log = [];
    },
  };
  const onQuery = (query: string) => {
    statements.count += 1;
    statements.log.push(query);
  };

  const url = process.env['DATABASE_URL'];
  if (!url) {
    const pglite = await PGlite.create({ loadDataDir: new Blob([readFileSync(inject('pgliteTemplate'))]) });
    const database = await openDatabase({ kind: 'pglite', dataDir: 'memory://' }, { pglite, onQuery });
    return { database, statements, close: () => database.close() };
  }

  const name = `tally_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const testUrl = new URL(url);
  testUrl.pathname = `/${name}`;
  const database = await openDatabase(
    { kind: 'postgres', url: testUrl.toString(), poolMax: 10, statementTimeoutMs: 10_000 },
    { onQuery },
  );
  await migrateDatabase(database);
  statements.reset();
  return {
    database,
    statements,
    async close() {
      await database.close();
      const dropper = new pg.Client({ connectionString: url });
      await dropper.connect();
      // FORCE: PgBouncer may still hold idle server connections to the database.
      await dropper.query(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}
