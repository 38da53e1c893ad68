/**
 * What a load test needs before it starts: PostgreSQL (and, for scenarios that go through it, PgBouncer and
 * Redis, started by scripts/services.sh), a database of its own migrated and seeded once per data size (reused
 * by later runs), and Tally compiled (the servers run as they would in production, without a TypeScript loader).
 */
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { openForBulkWork } from '../src/cli/database.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { seed, type SeedSize } from '../src/db/seed.js';

export const ADMIN_URL = process.env['LOADTEST_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const PGBOUNCER_PORT = 6432;

export function databaseUrl(name: string, port = 5432): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  url.port = String(port);
  return url.toString();
}

async function reachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

/** Starts PostgreSQL, Redis and PgBouncer with the project's script when asked for or when PostgreSQL is down. */
export async function ensureServices(needPgBouncer: boolean, log: (line: string) => void): Promise<void> {
  if (!needPgBouncer && (await reachable())) return;
  log('starting services (scripts/services.sh start)');
  execFileSync('bash', ['scripts/services.sh', 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (!(await reachable())) throw new Error(`PostgreSQL does not answer at ${ADMIN_URL}`);
}

/** Creates, migrates and seeds `name` unless it already holds exactly this data set. */
export async function prepareDatabase(name: string, size: SeedSize, log: (line: string) => void): Promise<void> {
  // As `npm run db:migrate` opens it: created when missing, no request-path timeouts for the seed's bulk inserts.
  const { database, created } = await openForBulkWork(databaseUrl(name), { create: true });
  if (created) log(`database ${name}: created`);
  try {
    await migrateDatabase(database);
    const counts = await database.pool!.query<{ users: string; posts: string; entries: string }>(
      'select (select count(*) from users) as users, (select count(*) from posts) as posts, (select count(*) from transactions) as entries',
    );
    const row = counts.rows[0]!;
    // The seed puts a tenth of the ledger on one user and spreads the rest evenly, so its total is only close.
    const seeded =
      Number(row.users) === size.users &&
      // Writes of earlier runs (seed-challenge posts and moves money) sit on top of the seed: a few percent is
      // still the same data set, and reseeding 2M entries for each run would cost more than the run.
      Number(row.posts) >= size.posts &&
      Number(row.posts) <= size.posts * 1.05 &&
      Math.abs(Number(row.entries) - size.ledgerEntries) <= size.users * 2 + size.ledgerEntries * 0.05;
    if (seeded) {
      log(`database ${name}: already seeded (${row.users} users, ${row.posts} posts, ${row.entries} ledger entries)`);
      return;
    }
    log(`database ${name}: seeding ${JSON.stringify(size)} (once; later runs reuse it)`);
    const started = performance.now();
    await seed(database.db, size);
    log(`database ${name}: seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await database.close();
  }
}

export function buildTally(log: (line: string) => void): void {
  log('building Tally (npm run build)');
  execFileSync('npm', ['run', '-s', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
