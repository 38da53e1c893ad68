/**
 * One drizzle handle over either PostgreSQL (a bounded pg Pool, PgBouncer-safe) or PGlite (PostgreSQL in WASM,
 * the embedded default). Everything above this file sees only `Database`, so the same queries run on both.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'drizzle-orm/logger';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import type { Config } from '../config.js';

/** Queries are built with drizzle's SQL-like builder only; no relational query API, so no schema to extract. */
export type Db = PgDatabase<PgQueryResultHKT>;

/** The rows of a raw `db.execute`: both drivers answer `{ rows }`, which drizzle's shared type leaves unknown. */
export const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

export interface Database {
  readonly db: Db;
  /**
   * A handle for one request: the same connections, and `onStatement` is called for each SQL statement it
   * sends (besides the database-wide `onQuery`). This is how a request counts its own statements; building it
   * is a handful of small objects.
   */
  forRequest(onStatement: () => void): Db;
  readonly kind: 'postgres' | 'pglite';
  /** Pool gauges for PostgreSQL; PGlite is a single in-process connection. */
  readonly pool: pg.Pool | undefined;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Called once per SQL statement drizzle sends: the hook behind statement counting. */
  onQuery?: (query: string) => void;
  /** An already-open PGlite instance (tests load one from a migrated template). */
  pglite?: PGlite;
  /**
   * Called when an idle pooled connection fails (PostgreSQL restarted, PgBouncer closed it). The pool replaces
   * the connection on its own; this is for the log. Without it such errors pass silently.
   */
  onPoolError?: (error: Error) => void;
}

export async function openDatabase(config: Config['database'], options: DatabaseOptions = {}): Promise<Database> {
  const onQuery = options.onQuery;
  const logger: Logger | undefined = onQuery ? { logQuery: (query) => onQuery(query) } : undefined;
  const countingLogger = (onStatement: () => void): Logger => ({
    logQuery(query) {
      onStatement();
      onQuery?.(query);
    },
  });

  if (config.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolMax,
      // A request that cannot get a connection in time fails cleanly instead of queueing forever.
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 10_000,
      // Sent as a startup parameter: PostgreSQL applies it per connection. PgBouncer cannot forward it (see
      // deploy/pgbouncer.ini: it ignores the parameter and applies the same timeout with connect_query).
      statement_timeout: config.statementTimeoutMs,
      application_name: 'tally',
    });
    // An idle client losing its server (PostgreSQL restarted) emits here; the pool replaces it on next use. A
    // listener is required: an 'error' event without one would crash the process.
    pool.on('error', (error) => options.onPoolError?.(error));
    return {
      db: drizzlePg(pool, { logger }),
      forRequest: (onStatement) => drizzlePg(pool, { logger: countingLogger(onStatement) }),
      kind: 'postgres',
      pool,
      async ping() {
        await pool.query('select 1');
      },
      close: () => pool.end(),
    };
  }

  let client = options.pglite;
  if (!client) {
    // A URL (memory://, idb://) is PGlite's to read, not a path: dirname('memory://x') is a "memory:" folder.
    if (!/^[a-z]+:\/\//.test(config.dataDir)) mkdirSync(dirname(config.dataDir), { recursive: true });
    client = await PGlite.create(config.dataDir);
  }
  const pglite = client;
  return {
    db: drizzlePglite(pglite, { logger }),
    forRequest: (onStatement) => drizzlePglite(pglite, { logger: countingLogger(onStatement) }),
    kind: 'pglite',
    pool: undefined,
    async ping() {
      await pglite.query('select 1');
    },
    close: () => pglite.close(),
  };
}
