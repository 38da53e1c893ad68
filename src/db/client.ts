/**
 * One drizzle handle over either PostgreSQL (a bounded pg Pool, PgBouncer-safe) or PGlite (PostgreSQL in WASM,
 * the embedded default). Everything above this file sees only `Database`, so the same queries run on both.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'drizzle-orm/logger';
import { sql, type SQL, type TablesRelationalConfig } from 'drizzle-orm';
import { drizzle as drizzlePg, NodePgSession, NodePgTransaction } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT, PgTransactionConfig } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import type { Config } from '../config.js';
import { openPgliteDir } from './pglite-dir.js';

/** Queries are built with drizzle's SQL-like builder only; no relational query API, so no schema to extract. */
export type Db = PgDatabase<PgQueryResultHKT>;

/** The rows of a raw `db.execute`: both drivers answer `{ rows }`, which drizzle's shared type leaves unknown. */
export const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

export interface Database {
  readonly db: Db;
  /**
   * A handle for one request: the process's handle seen through a session whose logger also calls
   * `onStatement` for each SQL statement it sends (besides the database-wide `onQuery`). This is how a request
   * counts its own statements: four small objects over the one drizzle instance, where building a drizzle
   * instance per request cost 2% of the feed's CPU. Queries prepared once (src/db/prepared.ts) count through
   * `requestOf`.
   */
  forRequest(onStatement: () => void, target?: Target): Db;
  readonly kind: 'postgres' | 'pglite';
  /** Whether `forRequest(…, 'replica')` reaches a replica (DATABASE_REPLICA_URLS) rather than the primary. */
  readonly replicated: boolean;
  /** The primary's pool gauges for PostgreSQL; PGlite is a single in-process connection. */
  readonly pool: pg.Pool | undefined;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** PGlite: where a data folder of another PostgreSQL major was moved aside on opening (src/db/pglite-dir.ts). */
  readonly movedAside?: string | undefined;
}

/** Where a request's statements go: the primary, or a replica for a read-only operation (src/request/read-routing.ts). */
export type Target = 'primary' | 'replica';

const REQUEST = Symbol('tally.request');

/** What a request's handle adds to the process's: the handle it sees through, and its statement counter. */
export interface RequestHandle {
  readonly shared: Db;
  readonly onStatement: () => void;
}

/** The request behind a handle from `forRequest`; undefined for the process's own handle. */
export const requestOf = (db: Db): RequestHandle | undefined => (db as Db & { [REQUEST]?: RequestHandle })[REQUEST];

/**
 * The process's handle seen through a counting session. drizzle's builders read `db.session` for every query
 * and a transaction opens its session from `session.options`, so both are overridden; the rest (the dialect, the
 * pool) is the shared one, by prototype.
 */
function countingHandle(shared: Db, onStatement: () => void, onQuery: ((query: string) => void) | undefined): Db {
  const session = (shared as unknown as { session: { options: Record<string, unknown> } }).session;
  const logger: Logger = {
    logQuery(query) {
      onStatement();
      onQuery?.(query);
    },
  };
  const counting = Object.create(session, { logger: { value: logger }, options: { value: { ...session.options, logger } } }) as object;
  return Object.create(shared, { session: { value: counting }, [REQUEST]: { value: { shared, onStatement } } }) as Db;
}

type Session = NodePgSession<Record<string, unknown>, TablesRelationalConfig>;
type Transaction = NodePgTransaction<Record<string, unknown>, TablesRelationalConfig>;

/**
 * drizzle's node-postgres sessions (0.45) send BEGIN before their try block: when BEGIN fails (the connection was
 * lost as the pool handed it out: PostgreSQL restarting, PgBouncer closing it), the pooled client is never
 * released, and after POOL_MAX such faults no request gets a connection again until the process restarts (seen in
 * test/integration/faults-under-load.test.ts). This runs the same transaction with BEGIN inside the try, throws
 * the error that stopped it (not a failed ROLLBACK's), and hands a client whose ROLLBACK failed back as broken,
 * for the pool to discard. Set on the shared session, so request handles (countingHandle) inherit it.
 */
function releaseEveryTransaction(db: Db): void {
  const session = (db as unknown as { session: Session }).session;
  const transaction = async function <T>(this: Session, run: (tx: Transaction) => Promise<T>, config?: PgTransactionConfig) {
    const { client: pool, dialect, schema, options } = this as unknown as {
      client: pg.Pool;
      dialect: ConstructorParameters<typeof NodePgSession>[1];
      schema: ConstructorParameters<typeof NodePgSession>[2];
      options: ConstructorParameters<typeof NodePgSession>[3];
    };
    const client = await pool.connect();
    const tx = new NodePgTransaction(dialect, new NodePgSession(client, dialect, schema, options), schema);
    let broken: Error | undefined;
    try {
      // getTransactionConfigSQL is drizzle's own (protected): the isolation level and access mode as SQL.
      const settings = config ? (tx as unknown as { getTransactionConfigSQL(config: PgTransactionConfig): SQL }).getTransactionConfigSQL(config) : undefined;
      await tx.execute(sql`begin${settings ? sql` ${settings}` : undefined}`);
      const result = await run(tx);
      await tx.execute(sql`commit`);
      return result;
    } catch (error) {
      await tx.execute(sql`rollback`).catch((rollbackFailed: Error) => (broken = rollbackFailed));
      throw error;
    } finally {
      client.release(broken);
    }
  };
  Object.defineProperty(session, 'transaction', { value: transaction, writable: true, configurable: true });
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

type PostgresConfig = Extract<Config['database'], { kind: 'postgres' }>;
/** What opening a database needs of the config: scripts and tests name a primary alone. */
export type DatabaseConfig =
  | (Omit<PostgresConfig, 'replicaUrls' | 'afterWriteMs'> & Partial<Pick<PostgresConfig, 'replicaUrls'>>)
  | Extract<Config['database'], { kind: 'pglite' }>;

/** A bounded pg pool with Tally's timeouts, for the primary or a replica. */
function openPool(url: string, config: Omit<PostgresConfig, 'replicaUrls' | 'afterWriteMs'>, options: DatabaseOptions, applicationName: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: config.poolMax,
    // A request that cannot get a pooled connection, or open one, in time fails cleanly (SERVICE_UNAVAILABLE,
    // src/db/faults.ts) instead of queueing forever behind a dead or saturated database.
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: 10_000,
    // Sent as a startup parameter: PostgreSQL applies it per connection. PgBouncer cannot forward it (see
    // deploy/pgbouncer.ini: it ignores the parameter and applies the same timeout with connect_query).
    statement_timeout: config.statementTimeoutMs,
    // The driver's own bound, for when no server is there to apply the one above: a partitioned network, a
    // PgBouncer that holds the query while paused. A second past the server's, so PostgreSQL's 57014 (with the
    // statement really cancelled) is what a slow statement normally meets.
    query_timeout: config.statementTimeoutMs + 1_000,
    // A server that vanished without closing the socket (a host lost, a failover) is noticed by the kernel's
    // keep-alive probes rather than by the next query hanging on it.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: applicationName,
  });
  // An idle client losing its server (PostgreSQL restarted) emits here; the pool replaces it on next use. A
  // listener is required: an 'error' event without one would crash the process.
  pool.on('error', (error) => options.onPoolError?.(error));
  // A connection lost while its client is checked out (inside a transaction: PostgreSQL restarted, PgBouncer
  // closed it) fails the statement running on it, which is how the request learns of it; the client also emits
  // 'error', and pg-pool listens only while a client is idle. Without a listener of its own that event would
  // crash the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function openDatabase(config: DatabaseConfig, options: DatabaseOptions = {}): Promise<Database> {
  const onQuery = options.onQuery;
  const logger: Logger | undefined = onQuery ? { logQuery: (query) => onQuery(query) } : undefined;

  if (config.kind === 'postgres') {
    const pool = openPool(config.url, config, options, 'tally');
    const db = drizzlePg(pool, { logger });
    releaseEveryTransaction(db);
    // Each replica is a handle of its own (its own prepared queries, src/db/prepared.ts). drizzle's withReplicas
    // is not used: it sends every select to a replica, a mutation's own reads included (the post it just
    // created, read back for its payload, would not be there yet); Tally routes whole operations instead.
    const replicaPools = (config.replicaUrls ?? []).map((url) => openPool(url, config, options, 'tally-replica'));
    const replicas = replicaPools.map((replicaPool) => drizzlePg(replicaPool, { logger }));
    // Spread at random, as drizzle's withReplicas does: every replica is equal here.
    const handleFor = (target: Target) => (target === 'replica' && replicas.length > 0 ? replicas[Math.floor(Math.random() * replicas.length)]! : db);
    return {
      db,
      forRequest: (onStatement, target = 'primary') => countingHandle(handleFor(target), onStatement, onQuery),
      kind: 'postgres',
      replicated: replicas.length > 0,
      pool,
      async ping() {
        await pool.query('select 1');
      },
      close: async () => void (await Promise.all([pool, ...replicaPools].map((each) => each.end()))),
    };
  }

  let client = options.pglite;
  let movedAside: string | undefined;
  if (!client) {
    // A URL (memory://, idb://) is PGlite's to read, not a path: dirname('memory://x') is a "memory:" folder.
    if (!/^[a-z]+:\/\//.test(config.dataDir)) mkdirSync(dirname(config.dataDir), { recursive: true });
    ({ pglite: client, movedAside } = await openPgliteDir(config.dataDir));
  }
  const pglite = client;
  const db = drizzlePglite(pglite, { logger });
  return {
    db,
    forRequest: (onStatement) => countingHandle(db, onStatement, onQuery),
    kind: 'pglite',
    replicated: false,
    pool: undefined,
    movedAside,
    async ping() {
      await pglite.query('select 1');
    },
    close: () => pglite.close(),
  };
}
