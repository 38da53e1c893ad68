/**
 * The load-test runner end to end on a tiny run (2 connections, 2 s, demo data), so it cannot rot: it prepares
 * its database, starts every server of the feed scenario, checks each answer, measures, stops them all and
 * writes both reports, with Tally's row profiled (--profile) and its CPU by area in them; rate-limit's paced clients, background load and Retry-After probe; and cached-get's trusted
 * mode (the load generator's own manifest), its response-cache counts and the stampede's drops. Not a timing test:
 * it asserts that every figure was measured, not how large it is.
 * Like the runner, it needs the PostgreSQL every machine here runs (LOADTEST_ADMIN_URL, 127.0.0.1:5432 by default).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const out = mkdtempSync(join(tmpdir(), 'tally-loadtest-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const SERVERS = [
  'bare node:http (1 KB JSON)',
  'bare node:http + pg (1 SQL)',
  'PostGraphile v5',
  'Mercurius (Fastify + graphql-jit + loaders)',
  'Tally, loaders off (N+1)',
  'Tally',
  'Tally, WORKERS=2',
];

/**
 * Once per suite run, in the embedded one: the runner brings its own servers, data and database whatever the
 * suite's (it clears DATABASE_URL and REDIS_URL below), so the run on the services would repeat it exactly.
 */
describe.skipIf(Boolean(process.env['DATABASE_URL']))('npm run loadtest', () => {
  it('runs the feed scenario on a tiny load, Tally profiled, and writes the markdown and HTML reports', { timeout: 240_000 }, async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'loadtest/run.ts', 'feed', '--size', 'demo', '--connections', '2', '--duration', '2', '--warmup', '1', '--out', out, '--profile'],
      { env: { ...process.env, DATABASE_URL: '', REDIS_URL: '' }, timeout: 230_000 },
    );
    expect(stdout).toContain('report:');

    const markdown = readFileSync(join(out, 'feed.md'), 'utf8');
    for (const server of SERVERS) {
      const row = markdown.split('\n').find((line) => line.startsWith(`| ${server} |`));
      expect(row, `a row for ${server}`).toBeDefined();
      const cells = row!.split('|').map((cell) => cell.trim());
      expect(Number(cells[2]), `${server} requests/s`).toBeGreaterThan(0);
      expect(cells[7], `${server} had no connection errors or timeouts`).toBe('0 / 0');
      expect(cells[8], `${server} answered only 2xx`).toBe('none');
    }
    const tally = markdown.split('\n').find((line) => line.startsWith('| Tally |'))!.split('|').map((cell) => cell.trim());
    expect(Number(tally[10]), "Tally's own SQL statements per request: the page with its authors joined in").toBe(1);
    const unbatched = markdown.split('\n').find((line) => line.startsWith('| Tally, loaders off (N+1) |'))!.split('|').map((cell) => cell.trim());
    expect(Number(unbatched[10]), 'the N+1 baseline really is N+1').toBeGreaterThan(10);
    expect(markdown).toMatch(/- (holds|MISSED): Tally sends at most 2 SQL statements per request/);
    // Issue 24's targets, each with its figures.
    expect(markdown).toMatch(/- (holds|MISSED): Tally's requests\/s ≥ 1\.0× Mercurius' \(\d+ ÷ \d+ = \d+\.\d\d×\)/);
    expect(markdown).toMatch(/- (holds|MISSED): Tally's CPU per request ≤ Mercurius' \(\d+ against \d+ µs = \d+\.\d\d×\)/);
    expect(markdown).toMatch(/- (holds|MISSED): Tally's CPU per request ≤ 0\.5× PostGraphile's/);
    const throughYoga = markdown.split('\n').find((line) => line.startsWith('| Tally, without the prepared lane (through yoga) |'));
    expect(throughYoga, 'the lane measured on and off').toBeDefined();
    // WORKERS=2 against one process, its CPU and memory summed over the primary and both workers.
    expect(markdown).toMatch(/Tally, WORKERS=2 against one process: \d+\.\d\d× the requests\/s/);

    // --profile: the profile kept beside the report, and Tally's measured run by area.
    expect(existsSync(join(out, 'feed-tally.cpuprofile')), 'the CPU profile beside the report').toBe(true);
    const areas = markdown.split('\n').filter((line) => /^\| (GraphQL execution|SQL building|driver|transport) \(/.test(line));
    expect(areas, 'the profile table names the areas').toHaveLength(4);
    const onCpu = markdown.split('\n').find((line) => line.startsWith('| all on-CPU |'))?.split('|').map((cell) => cell.trim());
    expect(Number(onCpu?.[3]), "Tally's on-CPU µs per request in the profile").toBeGreaterThan(0);

    const html = readFileSync(join(out, 'feed.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('runs the rate-limit scenario: paced clients, a hammering client beside them, its refusals and the probe', { timeout: 240_000 }, async () => {
    await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'loadtest/run.ts', 'rate-limit', '--size', 'demo', '--connections', '5', '--duration', '2', '--warmup', '1', '--out', out],
      { env: { ...process.env, DATABASE_URL: '', REDIS_URL: '' }, timeout: 230_000 },
    );
    const report = JSON.parse(readFileSync(join(out, 'rate-limit.json'), 'utf8')) as {
      results: Record<string, { totalRequests: number; statusCounts: Record<string, number>; background?: { totalRequests: number; refusals: { status: number; retryAfter?: number }[] } }>;
    };
    const [alone, hammered] = [report.results['others alone'], report.results['others, one client hammering']];
    // 5 clients × 2 requests a second × 2 s: paced, each its own viewer, none refused.
    for (const row of [alone, hammered]) {
      expect(row?.totalRequests, 'paced requests answered').toBeGreaterThan(0);
      expect(row?.statusCounts['429'], 'no paced client refused').toBeUndefined();
    }
    expect(alone?.background, 'no hammer beside the first row').toBeUndefined();
    // 8 unpaced connections spend a 1,000-point bucket within the warm-up: refusals are certain, not a timing.
    expect(hammered?.background?.totalRequests).toBeGreaterThan(0);
    expect(hammered?.background?.refusals.some((refusal) => refusal.status === 429 && refusal.retryAfter !== undefined)).toBe(true);

    const markdown = readFileSync(join(out, 'rate-limit.md'), 'utf8');
    expect(markdown).toMatch(/- (holds|MISSED): others' p99 with the hammer/);
    expect(markdown).toMatch(/- (holds|MISSED): the hammering viewer's 16-point request after the hammer stopped/);
    expect(markdown).toMatch(/- (holds|MISSED): the hammering viewer's 301-point request after the hammer stopped/);
  });

  it('runs the cached-get scenario: persisted GETs from the response cache, the uncached POST, and the stampede', { timeout: 240_000 }, async () => {
    await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'loadtest/run.ts', 'cached-get', '--size', 'demo', '--connections', '2', '--duration', '2', '--warmup', '1', '--out', out],
      { env: { ...process.env, DATABASE_URL: '', REDIS_URL: '' }, timeout: 230_000 },
    );
    type Row = {
      totalRequests: number;
      non2xx: number;
      responseCache?: { hits: number; misses: number };
      drops?: { entriesDropped: number; misses: number; sqlStatements: number; answerHoldsWrite: boolean }[];
    };
    const { results } = JSON.parse(readFileSync(join(out, 'cached-get.json'), 'utf8')) as { results: Record<string, Row> };
    const [cached, gzip, uncached, stampede] = [
      'Tally, cached GET by documentId',
      'Tally, cached GET by documentId, Accept-Encoding: gzip',
      'Tally, uncached POST by documentId',
      'Tally, cached GET, stampede',
    ].map((label) => results[label]);
    for (const row of [results['bare node:http (1 KB JSON)'], cached, gzip, uncached, stampede]) {
      expect(row?.totalRequests, 'requests answered').toBeGreaterThan(0);
      expect(row?.non2xx, 'trusted mode ran every persisted id it was sent').toBe(0);
    }
    expect(cached?.responseCache?.hits, 'GETs answered from the cache').toBeGreaterThan(0);
    expect(gzip?.responseCache?.hits, 'gzip GETs answered from the cache too').toBeGreaterThan(0);
    expect(uncached?.responseCache?.hits, 'a POST is never answered from the cache').toBe(0);
    expect(stampede?.drops).toHaveLength(3);
    for (const drop of stampede!.drops!) {
      expect(drop.entriesDropped, 'the write dropped the cached feed').toBeGreaterThan(0);
      expect(drop.misses, 'the drop was followed by a miss').toBeGreaterThan(0);
      expect(drop.sqlStatements, 'the miss ran the feed against PostgreSQL').toBeGreaterThan(0);
      expect(drop.answerHoldsWrite, 'the next cached answer holds the new post').toBe(true);
    }

    const markdown = readFileSync(join(out, 'cached-get.md'), 'utf8');
    expect(markdown).toMatch(/- (holds|MISSED): the cached GET's hit rate > 95%/);
    // The bytes on the wire with and without coding, the coded ones fewer.
    const bytes = /the cached GET (\d+) uncoded, (\d+) with Accept-Encoding: gzip/.exec(markdown);
    expect(bytes, 'the bytes on the wire, coded and not').not.toBeNull();
    expect(Number(bytes![2])).toBeLessThan(Number(bytes![1]));
    expect(markdown).toMatch(/- (holds|MISSED): each drop of the hot key under 500 connections sends one query to PostgreSQL/);
  });
});
