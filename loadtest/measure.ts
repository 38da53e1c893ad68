/**
 * Measures one server under one load: a warm-up run, then the measured run, while sampling every second the
 * server's RSS and the PostgreSQL connections of its database. SQL statements per request come from
 * pg_stat_database (committed + rolled back transactions: every statement outside BEGIN…COMMIT is one) for every
 * server, and from Tally's own /metrics where it has them.
 */
import autocannon from 'autocannon';
import pg from 'pg';
import type { RunningServer } from './servers.js';

export interface Load {
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** Requests for autocannon; with more than one, each connection cycles through them. */
  readonly requests: autocannon.Request[];
}

export interface Measurement {
  readonly requestsPerSecond: number;
  readonly totalRequests: number;
  readonly latencyMs: { p50: number; p75: number; p90: number; p97_5: number; p99: number; p99_9: number; max: number; mean: number };
  readonly perSecond: number[];
  readonly statusCounts: Record<string, number>;
  readonly non2xx: number;
  readonly connectionErrors: number;
  readonly timeouts: number;
  readonly sqlPerRequestPg: number;
  readonly sqlPerRequestTally: number | undefined;
  readonly peakPgConnections: number;
  readonly pgConnectionSamples: number[];
  readonly rssBytes: { start: number; peak: number; end: number; samples: number[] };
}

function run(url: string, load: Load, duration: number, onTick?: (counter: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, connections: load.connections, duration, requests: load.requests, timeout: 30 },
      (error, result) => (error ? reject(error as Error) : resolve(result)),
    );
    // autocannon passes { counter, bytes } to tick listeners; its type declarations say it passes nothing.
    if (onTick) (instance as unknown as NodeJS.EventEmitter).on('tick', ({ counter }: { counter: number }) => onTick(counter));
  });
}

async function transactionsOf(admin: pg.Client, database: string): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    'select xact_commit + xact_rollback as n from pg_stat_database where datname = $1',
    [database],
  );
  return Number(rows[0]?.n ?? 0);
}

async function connectionsOf(admin: pg.Client, database: string): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    "select count(*) as n from pg_stat_activity where datname = $1 and backend_type = 'client backend'",
    [database],
  );
  return Number(rows[0]?.n ?? 0);
}

/** The count once the stopped server's backends have exited and flushed their statistics (a few seconds at most). */
async function transactionsAfterExit(admin: pg.Client, database: string, before: number): Promise<number> {
  let last = before;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const [count, connections] = [await transactionsOf(admin, database), await connectionsOf(admin, database)];
    if (connections <= 1 && count === last) return count;
    last = count;
  }
  return last;
}

/** Sum and count of Tally's SQL-statements histogram, over every operation. */
async function tallyStatements(server: RunningServer): Promise<{ sum: number; count: number } | undefined> {
  if (!server.kind.startsWith('tally')) return undefined;
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    const match = /^tally_sql_statements_per_request_(sum|count)\{[^}]*\} ([\d.e+]+)$/.exec(line);
    if (match?.[1] === 'sum') sum += Number(match[2]);
    if (match?.[1] === 'count') count += Number(match[2]);
  }
  return { sum, count };
}

/**
 * PostgreSQL 15 flushes a backend's statistics only when it has been idle a while (up to 10 s) or exits, so the
 * transaction count is read before the warm-up and after the server has stopped (its connections closed), and
 * divided by every request the server answered in between.
 */
export async function measure(
  server: RunningServer,
  load: Load,
  admin: pg.Client,
  database: string | undefined,
): Promise<Measurement> {
  const url = `${server.url}/graphql`;
  const transactionsBefore = database ? await transactionsOf(admin, database) : 0;
  const warmup = load.warmupSeconds > 0 ? await run(url, load, load.warmupSeconds) : undefined;

  const rssStart = server.rssBytes();
  const rssSamples: number[] = [];
  const pgSamples: number[] = [];
  const sampler = setInterval(() => {
    rssSamples.push(server.rssBytes());
    if (database) void connectionsOf(admin, database).then((n) => pgSamples.push(n), () => undefined);
  }, 1_000);
  const statementsBefore = await tallyStatements(server);
  const perSecond: number[] = [];
  let result: autocannon.Result;
  try {
    result = await run(url, load, load.durationSeconds, (counter) => perSecond.push(counter));
  } finally {
    clearInterval(sampler);
  }
  const total = result.requests.total;
  const statementsAfter = await tallyStatements(server);
  const rssEnd = server.rssBytes();
  await server.stop();
  const transactionsAfter = database ? await transactionsAfterExit(admin, database, transactionsBefore) : 0;
  const answered = total + (warmup?.requests.total ?? 0);

  const statusCounts: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {})) statusCounts[status] = Number(count);
  return {
    requestsPerSecond: total / load.durationSeconds,
    totalRequests: total,
    latencyMs: {
      p50: result.latency.p50,
      p75: result.latency.p75,
      p90: result.latency.p90,
      p97_5: result.latency.p97_5,
      p99: result.latency.p99,
      p99_9: result.latency.p99_9,
      max: result.latency.max,
      mean: result.latency.average,
    },
    perSecond,
    statusCounts,
    non2xx: result.non2xx,
    connectionErrors: result.errors,
    timeouts: result.timeouts,
    // Per database, so the samplers' own queries (on the admin database) do not count.
    sqlPerRequestPg: answered > 0 ? (transactionsAfter - transactionsBefore) / answered : 0,
    sqlPerRequestTally:
      statementsBefore && statementsAfter && statementsAfter.count > statementsBefore.count
        ? (statementsAfter.sum - statementsBefore.sum) / (statementsAfter.count - statementsBefore.count)
        : undefined,
    peakPgConnections: pgSamples.length > 0 ? Math.max(...pgSamples) : 0,
    pgConnectionSamples: pgSamples,
    rssBytes: { start: rssStart, peak: Math.max(rssStart, rssEnd, ...rssSamples), end: rssEnd, samples: rssSamples },
  };
}
