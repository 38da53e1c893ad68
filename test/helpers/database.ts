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
  /** The test database's own PostgreSQL URL (not the route's); undefined on PGlite. */
  readonly url?: string;
  close(): Promise<void>;
}

/** For tests of the pool itself (PostgreSQL only): its settings, and where it connects. */
export interface TestDatabaseOptions {
  readonly poolMax?: number;
  readonly statementTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /**
   * The URL the app's pool connects to, given the test database's own: a proxy the test controls
   * (helpers/tcp-proxy.ts). The database is created and dropped on the direct URL.
   */
  readonly route?: (url: string) => string;
  /** Read replicas for the app's handle (DATABASE_REPLICA_URLS): other test databases standing in for them. */
  readonly replicaUrls?: readonly string[];
}

export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
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
  const settings = { poolMax: options.poolMax ?? 10, statementTimeoutMs: options.statementTimeoutMs ?? 10_000, connectTimeoutMs: options.connectTimeoutMs ?? 5_000 };
  const database = await openDatabase(
    { kind: 'postgres', url: options.route?.(testUrl.toString()) ?? testUrl.toString(), ...settings, replicaUrls: options.replicaUrls ?? [] },
    { onQuery },
  );
  await migrateDatabase(database);
  statements.reset();
  return {
    database,
    statements,
    url: testUrl.toString(),
    async close() {
      // Dropped even when closing the pool fails (a test that closed it already, to fake a lost database):
      // the close's error still reaches the caller, but no database is left behind.
      try {
        await database.close();
      } finally {
        const dropper = new pg.Client({ connectionString: url });
        await dropper.connect();
        // FORCE: PgBouncer may still hold idle server connections to the database.
        await dropper.query(`drop database if exists ${name} with (force)`);
        await dropper.end();
      }
    },
  };
}
