/**
 * `npm run loadtest -- <scenario> [--connections N] [--duration S] [--warmup S] [--size load|demo] [--out DIR] [--profile]`
 *
 * Prepares what the scenario needs (services, a seeded database, a compiled Tally), then starts each server it
 * compares as a child process on loopback, checks its answer, warms it up, measures it, stops it, and writes the
 * report (markdown + HTML) to loadtest/reports/. Everything it starts, it stops; every run is bounded in time.
 * With --profile, a copy of the scenario's profiled row (Tally's, in `feed`) runs right after it under
 * `node --cpu-prof`, and the report says where its CPU went over the measured run (profile.ts); the profile is kept
 * beside the report. The row itself runs without the profiler: the targets are read from it, and the profiler's own
 * cost (a stack walk about every ms) must not count against them.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { measure, type Measurement } from './measure.js';
import { ADMIN_URL, buildTally, databaseUrl, ensureServices, PGBOUNCER_PORT, prepareDatabase } from './prepare.js';
import { readProfile, summarize, type ProfileSummary } from './profile.js';
import { goalLines, html, markdown, type RunInfo } from './report.js';
import { scenario as scenarioNamed, type Target, type Verdict } from './scenarios.js';
import { startServer, type RunningServer } from './servers.js';

const log = (line: string) => console.log(`[loadtest] ${line}`);

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join('node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** The version of `pkg` that `parent` loads: its own copy, or the one at the top of node_modules. */
function versionUnder(parent: string, pkg: string): string {
  const own = version(join(parent, 'node_modules', pkg));
  return own === 'not installed' ? version(pkg) : own;
}

/** Every body, name or id in a response, in order: the same data whatever shape each server gives it. */
function texts(value: unknown, key: 'body' | 'name' | 'id', into: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) texts(item, key, into);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === key && typeof v === 'string') into.push(v);
      else texts(v, key, into);
    }
  }
  return into;
}

async function checkAnswer(server: RunningServer, target: Target, admin: pg.Pool): Promise<void> {
  const request = target.requests[0]!;
  const response = await fetch(`${server.url}${request.path ?? '/graphql'}`, {
    method: request.method ?? 'POST',
    headers: request.headers as Record<string, string>,
    body: request.body as string,
  });
  const answer = (await response.json()) as { errors?: unknown };
  if (response.status !== 200 || answer.errors) throw new Error(`${target.label} answered ${response.status}: ${JSON.stringify(answer).slice(0, 500)}`);
  if (target.expectsNewestPosts) {
    const { rows } = await admin.query<{ id: string; body: string; author_id: string; name: string }>(
      'select p.id, p.body, p.author_id, u.name from posts p join users u on u.id = p.author_id order by p.created_at desc, p.id desc limit 20',
    );
    const expected = JSON.stringify([rows.map((r) => r.body), rows.map((r) => r.name)]);
    const got = JSON.stringify([texts(answer, 'body'), texts(answer, 'name')]);
    if (expected !== got) throw new Error(`${target.label} does not answer the 20 newest posts with their authors:\n${got.slice(0, 400)}`);
    if (target.expectsTallyIds) {
      // Each post's id, then its author's, in the order the answer gives them.
      const ids = JSON.stringify(rows.flatMap((r) => [encodeGlobalID('Post', r.id), encodeGlobalID('User', r.author_id)]));
      const gotIds = JSON.stringify(texts(answer, 'id'));
      if (ids !== gotIds) throw new Error(`${target.label} does not answer Tally's global ids:\n${gotIds.slice(0, 400)}`);
    }
  }
  if (target.expectsEdges !== undefined) {
    const edges = JSON.stringify(answer).match(/"cursor"/g)?.length ?? 0;
    if (edges !== target.expectsEdges) throw new Error(`${target.label} answered ${edges} edges, expected ${target.expectsEdges}`);
  }
}

/** The targets with a copy of the profiled one right after it, labelled as such, for the profiler to run. */
function withProfiledCopy<T extends { readonly label: string }>(targets: readonly T[], profiled: string | undefined, label: string | undefined): T[] {
  if (profiled === undefined || label === undefined) return [...targets];
  const at = targets.findIndex((target) => target.label === profiled);
  if (at === -1) throw new Error(`--profile: no row labelled ${profiled}`);
  return [...targets.slice(0, at + 1), { ...targets[at]!, label }, ...targets.slice(at + 1)];
}

/** The profiled row's CPU by area over its measured run, from the profile node wrote as the server exited. */
function profileOf(where: { readonly dir: string; readonly name: string }, label: string, result: Measurement): ProfileSummary {
  const path = join(where.dir, where.name);
  if (!existsSync(path)) throw new Error(`${label}: no CPU profile at ${path} (the server must exit by itself, not be killed, for node to write it)`);
  return summarize(readProfile(path), result.measuredWindow, result.totalRequests, { file: relative(process.cwd(), path), label });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      size: { type: 'string', default: 'load' },
      out: { type: 'string', default: 'loadtest/reports' },
      profile: { type: 'boolean', default: false },
    },
  });
  const name = positionals[0];
  if (!name) throw new Error('usage: npm run loadtest -- <feed|deep-page|seed-challenge|rate-limit|cached-get|faults> [--connections N] [--duration S] [--warmup S] [--size load|demo] [--out DIR] [--profile]');
  if (values.size !== 'load' && values.size !== 'demo') throw new Error('--size must be load or demo');
  const scenario = scenarioNamed(name, values.size);
  if (values.profile && !scenario.profiled) throw new Error(`--profile: the ${scenario.name} scenario has no row to profile (only feed has)`);
  // Beside the report; node writes it when the profiled server exits.
  const cpuProfile = values.profile && scenario.profiled ? { dir: resolve(values.out), name: `${scenario.name}-${scenario.profiled.toLowerCase().replace(/\W+/g, '-')}.cpuprofile` } : undefined;
  const profiledLabel = scenario.profiled === undefined ? undefined : `${scenario.profiled}, under the profiler`;
  const connections = Number(values.connections ?? scenario.connections);
  const durationSeconds = Number(values.duration ?? scenario.durationSeconds);
  const warmupSeconds = Number(values.warmup ?? scenario.warmupSeconds);
  for (const [flag, value] of [['connections', connections], ['duration', durationSeconds], ['warmup', warmupSeconds]] as const) {
    if (!Number.isInteger(value) || value < (flag === 'warmup' ? 0 : 1) || value > 10_000) throw new Error(`--${flag} must be a whole number`);
  }

  await ensureServices(scenario.throughPgBouncer || scenario.needsRedis === true, log);
  const database = `tally_loadtest_${scenario.sizeName.replace(/\W/g, '_')}`;
  await prepareDatabase(database, scenario.size, log);
  buildTally(log);

  // Pools, not clients: a scenario that restarts PostgreSQL (faults) cuts their connections, and a pool opens new
  // ones for the samplers and the checks after it; a lost idle connection is only logged.
  const admin = new pg.Pool({ connectionString: ADMIN_URL, max: 2 });
  const data = new pg.Pool({ connectionString: databaseUrl(database), max: 2 });
  for (const pool of [admin, data]) pool.on('error', (error) => log(`a PostgreSQL connection of the runner was lost (${error.message}); the next query opens another`));
  const startedAt = new Date();
  const { rows: versionRows } = await admin.query<{ server_version: string }>('show server_version');
  const pgVersion = versionRows[0]?.server_version ?? 'unknown';
  const results = new Map<string, Measurement>();
  const verdicts: Verdict[] = [];
  let profile: ProfileSummary | undefined;
  try {
    const targets = withProfiledCopy(await scenario.targets(data, { connections }), cpuProfile ? scenario.profiled : undefined, profiledLabel);
    if (scenario.prepare) log(await scenario.prepare());
    const serverUrl = databaseUrl(database, scenario.throughPgBouncer ? PGBOUNCER_PORT : 5432);
    for (const target of targets) {
      const profiled = cpuProfile && target.label === profiledLabel ? cpuProfile : undefined;
      log(`${target.label}: starting ${target.server}${profiled ? ' under node --cpu-prof' : ''}`);
      if (profiled) {
        mkdirSync(profiled.dir, { recursive: true });
        rmSync(join(profiled.dir, profiled.name), { force: true });
      }
      const server = await startServer({ kind: target.server, databaseUrl: serverUrl, poolMax: 10, env: target.env, cpuProfile: profiled });
      try {
        await checkAnswer(server, target, data);
        const load = {
          connections: target.connections ?? connections,
          durationSeconds: target.durationSeconds ?? durationSeconds,
          warmupSeconds,
          requests: target.requests,
          paced: target.paced,
          background: target.background,
          afterLoad: target.afterLoad,
          duringLoad: target.duringLoad,
        };
        log(`${target.label}: answer checked; ${warmupSeconds} s warm-up, ${load.durationSeconds} s measured at ${load.connections} connections`);
        if (target.background) log(`${target.label}: beside it, from before the warm-up: ${target.background.label}, ${target.background.connections} connections`);
        const result = await measure(server, load, admin, database);
        results.set(target.label, result);
        verdicts.push(...result.afterLoad);
        log(`${target.label}: ${result.requestsPerSecond.toFixed(0)} requests/s, p99 ${result.latencyMs.p99} ms, non-2xx ${result.non2xx}, errors ${result.connectionErrors}`);
        for (const [i, drop] of (result.drops ?? []).entries()) {
          log(`${target.label}: drop ${i + 1} at ${drop.atSecond.toFixed(1)} s: ${drop.entriesDropped} entries dropped, ${drop.misses} misses, ${drop.sqlStatements} SQL statements in ${drop.windowSeconds.toFixed(1)} s`);
        }
        if (profiled) {
          // measure() has stopped the server and waited for it to exit: node has written the profile.
          profile = profileOf(profiled, target.label, result);
          log(`${target.label}: profile ${profile.file}: ${profile.samples} samples in the measured run, ${profile.areas.slice(0, 3).map((a) => `${a.area.replace(/ \(.*/, '')} ${(a.share * 100).toFixed(0)}%`).join(', ')}`);
        }
        const hammer = result.background;
        if (hammer) {
          const refused = hammer.statusCounts['429'] ?? 0;
          log(`${target.label}: ${hammer.label}: ${hammer.requestsPerSecond.toFixed(0)} requests/s, ${refused} of ${hammer.totalRequests} refused (429)`);
        }
      } finally {
        await server.stop();
      }
    }
    if (scenario.verify) {
      log('checking the database after the load');
      verdicts.push(...(await scenario.verify(databaseUrl(database))));
    }
  } finally {
    await data.end();
    await admin.end().catch(() => undefined);
  }

  const info: RunInfo = {
    startedAt,
    connections,
    durationSeconds,
    warmupSeconds,
    machine: {
      cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
      memory: `${(totalmem() / 1024 ** 3).toFixed(0)} GiB`,
      node: process.version,
      postgresql: pgVersion,
      'load generator': `autocannon ${version('autocannon')}, in this process`,
      versions: `graphql-yoga ${version('graphql-yoga')}, @pothos/core ${version('@pothos/core')}, drizzle-orm ${version('drizzle-orm')}, pg ${version('pg')}, postgraphile ${version('postgraphile')}, graphql-jit ${version('graphql-jit')}, mercurius ${version('mercurius')} (its graphql-jit ${versionUnder('mercurius', 'graphql-jit')}), fastify ${version('fastify')}`,
    },
  };
  const input = { scenario, info, results, verdicts, profile };
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, `${scenario.name}.md`), markdown(input));
  writeFileSync(join(values.out, `${scenario.name}.html`), html(input));
  // The raw figures, for comparing runs or drawing other charts later.
  writeFileSync(join(values.out, `${scenario.name}.json`), `${JSON.stringify({ scenario: scenario.name, info, results: Object.fromEntries(results), ...(profile ? { profile } : {}) }, null, 2)}\n`);
  log(`report: ${join(values.out, `${scenario.name}.md`)} and .html`);
  for (const line of goalLines(input)) log(line);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`[loadtest] failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
