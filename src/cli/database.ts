/**
 * The database a command-line tool works on: the configured one, without the request path's time limits. A seed
 * inserts 500,000 follows in one statement and a 2M-entry ledger in a few; checking that ledger reads all of it.
 * DB_STATEMENT_TIMEOUT_MS (5 s), which keeps one request from holding a pooled connection, stopped them with
 * "Query read timeout" (the driver's own bound, a second past it).
 *
 * `create`: a PostgreSQL database that does not exist yet is created first (on the same server, through its
 * `postgres` database), so `npm run db:migrate` on a fresh server is the whole setup.
 */
import pg from 'pg';
import type { Config } from '../config.js';
import { openDatabase, type Database } from '../db/client.js';

/** What one statement of bulk work may take: an hour, far more than any here needs on the `load` data. */
const BULK_STATEMENT_TIMEOUT_MS = 3_600_000;

/**
 * The database named in the URL does not exist: PostgreSQL's invalid_catalog_name, which PgBouncer passes on as a
 * protocol error (08P01) with the server's words.
 */
const missingDatabase = (error: unknown) =>
  error instanceof Error && ((error as { code?: unknown }).code === '3D000' || /^database ".*" does not exist$/.test(error.message));

export async function openForCli(config: Config, { create = false } = {}): Promise<Database> {
  const target = config.database;
  if (target.kind !== 'postgres') return openDatabase(target);
  const { database, created } = await openForBulkWork(target.url, { create, connectTimeoutMs: target.connectTimeoutMs });
  if (created) console.log(`created database ${decodeURIComponent(new URL(target.url).pathname.slice(1))}`);
  return database;
}

/**
 * PostgreSQL at `url` for bulk work (the CLIs, the load runner's seed): the primary alone, two connections, no time
 * limit per request; with `create`, the database is created first when the server has none of that name.
 */
export async function openForBulkWork(url: string, { create = false, connectTimeoutMs = 5_000 } = {}): Promise<{ database: Database; created: boolean }> {
  const bulk = { kind: 'postgres', url, poolMax: 2, statementTimeoutMs: BULK_STATEMENT_TIMEOUT_MS, connectTimeoutMs } as const;
  const database = await openDatabase(bulk);
  try {
    await database.ping();
    return { database, created: false };
  } catch (error) {
    await database.close();
    if (!create || !missingDatabase(error)) throw error;
  }
  await createDatabase(url);
  return { database: await openDatabase(bulk), created: true };
}

async function createDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}
