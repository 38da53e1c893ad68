/**
 * The README's PostgreSQL path as a user runs it, against the suite's PostgreSQL (through PgBouncer in CI): a
 * database that does not exist yet is created by `npm run db:migrate`, seeded by `npm run db:seed`, checked by
 * `npm run ledger:check`, each a child process. The bulk commands are not bound by the request path's timeouts:
 * they run here with DB_STATEMENT_TIMEOUT_MS=100, which stopped the seed's ledger insert before (the README's
 * `--size load` met the same with the default 5 s on its 500,000 follows). A command that fails says why in one line.
 * PostgreSQL only: the embedded database has nothing to create, and cli.test.ts runs these commands on PGlite.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVER = process.env['DATABASE_URL'];

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** An npm script as a user runs it, with DATABASE_URL naming `url`; its exit code and output. */
async function npm(url: string, script: string, ...args: string[]): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', DATABASE_URL: url, DB_STATEMENT_TIMEOUT_MS: '100' };
  delete env['REDIS_URL'];
  try {
    const { stdout, stderr } = await run('npm', ['run', '-s', script, ...(args.length > 0 ? ['--', ...args] : [])], { cwd: ROOT, env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const named = (name: string) => {
  const url = new URL(SERVER!);
  url.pathname = `/${name}`;
  return url.toString();
};

const created: string[] = [];
afterAll(async () => {
  if (created.length === 0) return;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  // FORCE: PgBouncer may still hold idle server connections to the database.
  for (const name of created) await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
});

describe.runIf(SERVER)('the PostgreSQL path of the README, on a database that does not exist yet', () => {
  it('db:migrate creates and migrates it; db:seed fills it past the request timeout; ledger:check finds it sound', async () => {
    const name = `tally_test_cli_${randomBytes(4).toString('hex')}`;
    created.push(name);
    const url = named(name);

    const migrated = await npm(url, 'db:migrate');
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain(`created database ${name}`);
    expect(migrated.stdout).toContain('migrated (postgres)');

    const seeded = await npm(url, 'db:seed', '--size', 'demo', '--ledger', '200k');
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout).toMatch(/^seeded demo .*"ledgerEntries":200000.* on postgres in [\d.]+ s$/m);

    const checked = await npm(url, 'ledger:check');
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toContain('ledger sound (postgres)');

    // Run again, it creates nothing and has nothing to do.
    const again = await npm(url, 'db:migrate');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('created database');
  }, 240_000);

  it('a command on a database that does not exist says so in one line', async () => {
    const name = `tally_test_cli_missing_${randomBytes(4).toString('hex')}`;
    const checked = await npm(named(name), 'ledger:check');
    expect(checked.code).toBe(1);
    // 3D000 from PostgreSQL; through PgBouncer, its protocol error with PostgreSQL's words.
    expect(checked.stderr.trim()).toMatch(new RegExp(`^database "${name}" does not exist \\((3D000|08P01)\\)$`));
  }, 60_000);

  it('a command whose server is not there says so in one line', async () => {
    const url = new URL(SERVER!);
    url.port = '1';
    const checked = await npm(url.toString(), 'ledger:check');
    expect(checked.code).toBe(1);
    expect(checked.stderr.trim()).toMatch(/^connect ECONNREFUSED [\d.:]+ \(ECONNREFUSED\)$/);
  }, 60_000);
});
