/**
 * `npm run token -- <username>` as a user runs it: a child process against an embedded database of its own,
 * seeded by `npm run db:seed`. Whatever database the rest of the suite uses, these run on a throwaway PGlite dir.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTokenVerifier } from '../../src/auth/jwt.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { createEventBus } from '../../src/events.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTally } from '../../src/server.js';
import { memoryCostBucket } from '../../src/store/cost-bucket.js';
import { withCost } from '../helpers/assertions.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
let env: NodeJS.ProcessEnv;
let known: Outcome;
let unknown: Outcome;
let usage: Outcome;

/** Runs a CLI entry point; resolves with its exit code and output instead of rejecting on a non-zero exit. */
async function cli(pgliteDir: string, script: string, ...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', `src/cli/${script}`, ...args], {
      cwd: ROOT,
      env: { ...env, PGLITE_DIR: pgliteDir },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-cli-'));
  env = { ...process.env, NODE_ENV: 'test' };
  // The suite's own database and JWT settings must not leak into the CLI: it runs on its defaults.
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES', 'REDIS_PASSWORD', 'JWT_SECRET', 'JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE', 'LOG_LEVEL', 'PORT']) delete env[name];
  // initdb alone takes PGlite several seconds; on PGlite runs start the dir from the suite's migrated template
  // (the seed still runs its migrations, which then have nothing to do).
  const template = inject('pgliteTemplate');
  if (existsSync(template)) {
    const pglite = await PGlite.create({ dataDir: join(dir, 'a'), loadDataDir: new Blob([readFileSync(template)]) });
    await pglite.close();
  }
  const seeded = await cli(join(dir, 'a'), 'seed.ts', '--size', 'demo');
  expect(seeded, seeded.stderr).toMatchObject({ code: 0 });
  expect(seeded.stdout).toMatch(/seeded demo .* on pglite/);
  // One PGlite directory serves one process at a time: the unknown-user run gets a copy, so all three run at once.
  cpSync(join(dir, 'a'), join(dir, 'b'), { recursive: true });
  [known, unknown, usage] = await Promise.all([
    cli(join(dir, 'a'), 'token.ts', 'demo'),
    cli(join(dir, 'b'), 'token.ts', 'nobody-by-this-name'),
    cli(join(dir, 'c'), 'token.ts'),
  ]);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm run token -- <username>', () => {
  it('prints, on its last line, a token the server accepts for that user', async () => {
    const { code, stdout, stderr } = known;
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    const token = lines.at(-1)!;
    expect(token).toMatch(JWT);
    expect(lines.slice(0, -1).join('\n')).toMatch(/demo/);

    // The same server main.ts builds, over the database the CLI just used.
    const config = loadConfig({ NODE_ENV: 'test', PGLITE_DIR: join(dir, 'a') });
    const database = await openDatabase(config.database);
    try {
      const logger = createLogger(config);
      const { yoga } = createTally({ config, database, logger, verifyToken: createTokenVerifier(config.jwt), events: createEventBus(logger), costBucket: memoryCostBucket() });
      const response = await yoga.fetch(
        new Request('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ viewer { username balance { currency } } }' }),
        }),
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(withCost({ data: { viewer: { username: 'demo', balance: { currency: 'USD' } } } }));
    } finally {
      await database.close();
    }
  });

  it('exits 1 with a clear message, and no stack trace, for an unknown username', () => {
    const { code, stdout, stderr } = unknown;
    expect(code).toBe(1);
    expect(stdout).not.toMatch(JWT);
    expect(stderr).toContain('no user "nobody-by-this-name"');
    expect(stderr, 'an expected failure prints its message, not a stack trace').not.toMatch(/\n\s+at /);
  });

  it('exits 1 with the usage when no username is given', () => {
    const { code, stderr } = usage;
    expect(code).toBe(1);
    expect(stderr).toContain('usage: npm run token -- <username>');
    expect(stderr, 'an expected failure prints its message, not a stack trace').not.toMatch(/\n\s+at /);
  });
});
