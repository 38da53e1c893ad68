/**
 * Measures one server under one load: a warm-up run, then the measured run, while sampling every second the
 * server's RSS and the PostgreSQL connections of its database. SQL statements per request come from
 * pg_stat_database (committed + rolled back transactions: every statement outside BEGIN…COMMIT is one) for every
 * server, and from Tally's own /metrics where it has them.
 *
 * A load may be paced clients (each connection its own client, sending at most so many requests a second) and may
 * have a background load beside it (one client hammering), run from before the warm-up until the measured run ends.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import pg from 'pg';
import type { Verdict } from './scenarios.js';
import type { RunningServer } from './servers.js';

export interface Load {
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** Requests for autocannon; with more than one, each connection cycles through them. */
  readonly requests: autocannon.Request[];
  /** Instead of `requests`: every connection a client of its own, paced. */
  readonly paced?: PacedClients;
  /** A second load, from before the warm-up until the measured run ends; it is not part of the latencies. */
  readonly background?: BackgroundLoad;
  /** Checks against the server once the load (the background load too) has stopped, before the server stops. */
  readonly afterLoad?: (url: string) => Promise<Verdict[]>;
}

/**
 * Clients that each send at most `perSecond` requests a second over a connection of their own, with requests of
 * their own (a viewer's token each). One autocannon instance per client, started evenly over the first second:
 * autocannon starts every connection's second at the same instant, so one instance with `connectionRate` sends
 * all its clients' requests as one burst each second, a load no set of independent clients makes.
 */
export interface PacedClients {
  readonly perSecond: number;
  requestsOf(connection: number): autocannon.Request[];
}

export interface BackgroundLoad {
  readonly label: string;
  readonly connections: number;
  readonly requests: autocannon.Request[];
}

/** One kind of refusal the background load saw: its headers and body, and how many times. */
export interface Refusal {
  readonly status: number;
  /** `Retry-After` in seconds; undefined when absent. */
  readonly retryAfter: number | undefined;
  /** `RateLimit-Remaining`; undefined when absent. */
  readonly remaining: number | undefined;
  /** The body's `extensions.cost.requestedQueryCost` and first error code. */
  readonly requestedCost: number | undefined;
  readonly code: string | undefined;
  readonly count: number;
}

export interface BackgroundResult {
  readonly label: string;
  readonly connections: number;
  /** From its start (before the warm-up) until it stopped (after the measured run). */
  readonly seconds: number;
  readonly totalRequests: number;
  readonly requestsPerSecond: number;
  /** Responses that arrived during the measured run (they share the server's CPU time with it). */
  readonly duringMeasured: number;
  readonly statusCounts: Record<string, number>;
  readonly connectionErrors: number;
  readonly timeouts: number;
  /** Every 4xx/5xx response, grouped by what it said. */
  readonly refusals: Refusal[];
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
  /**
   * The server process's CPU time over the measured run, per request answered (µs): what a stage costs. With a
   * background load, per request of both loads answered in that time.
   */
  readonly cpuMicrosPerRequest: number;
  /** Over the measured run: cores the server used, cores the load generator (this process) used, and the share of
   * the machine's CPU time that was busy (everything on it: PostgreSQL, Redis, the load generator, the server). */
  readonly cpu: { serverCores: number; loadGeneratorCores: number; machineBusy: number };
  /** The load generator's own event-loop delay over the measured run (ms beyond a 10 ms timer): latency it adds to
   * what it measures, its own work's or the machine's (a process waiting for a core). */
  readonly loadGeneratorLoopDelayMs: { p50: number; p99: number; max: number };
  readonly background?: BackgroundResult;
  /** What `afterLoad` found. */
  readonly afterLoad: Verdict[];
}

/** What measure() reads of a run, whether one autocannon instance made it or many paced ones. */
interface Outcome {
  readonly total: number;
  readonly latency: Measurement['latencyMs'];
  readonly statusCounts: Record<string, number>;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

function statusCountsOf(result: autocannon.Result): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {})) counts[status] = Number(count);
  return counts;
}

function run(url: string, load: Load, duration: number, onTick?: (counter: number) => void): Promise<Outcome> {
  if (load.paced) return runPaced(url, load.paced, load.connections, duration, onTick);
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, connections: load.connections, duration, requests: load.requests, timeout: 30 },
      (error, result) =>
        error
          ? reject(error as Error)
          : resolve({
              total: result.requests.total,
              latency: {
                p50: result.latency.p50,
                p75: result.latency.p75,
                p90: result.latency.p90,
                p97_5: result.latency.p97_5,
                p99: result.latency.p99,
                p99_9: result.latency.p99_9,
                max: result.latency.max,
                mean: result.latency.average,
              },
              statusCounts: statusCountsOf(result),
              non2xx: result.non2xx,
              errors: result.errors,
              timeouts: result.timeouts,
            }),
    );
    // autocannon passes { counter, bytes } to tick listeners; its type declarations say it passes nothing.
    if (onTick) (instance as unknown as NodeJS.EventEmitter).on('tick', ({ counter }: { counter: number }) => onTick(counter));
  });
}

/** autocannon emits each response on its instance; its type declarations leave the event out. */
type ResponseListener = (client: unknown, status: number, bytes: number, ms: number) => void;
const onResponses = (instance: autocannon.Instance, listener: ResponseListener) =>
  (instance as unknown as NodeJS.EventEmitter).on('response', listener);

/** The value at or below which `fraction` of the sorted values lie (nearest rank). */
const percentile = (sorted: readonly number[], fraction: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
const round = (ms: number) => Math.round(ms * 100) / 100;

/**
 * Each paced client measured exactly, to 0.01 ms (autocannon's histogram keeps whole milliseconds, and its
 * coordinated-omission correction takes 1/rate seconds for milliseconds, recording a sample per millisecond of
 * each response: it is off). Latencies of 2xx responses only, as autocannon counts them.
 */
async function runPaced(
  url: string,
  paced: PacedClients,
  connections: number,
  duration: number,
  onTick?: (counter: number) => void,
): Promise<Outcome> {
  const latencies: number[] = [];
  let counter = 0;
  const ticker = onTick
    ? setInterval(() => {
        onTick(counter);
        counter = 0;
      }, 1_000)
    : undefined;
  const clients = Array.from(
    { length: connections },
    (_, connection) =>
      new Promise<autocannon.Result>((resolve, reject) => {
        setTimeout(() => {
          try {
            const instance = autocannon(
              { url, connections: 1, connectionRate: paced.perSecond, ignoreCoordinatedOmission: true, duration, requests: paced.requestsOf(connection), timeout: 30 },
              (error, result) => (error ? reject(error as Error) : resolve(result)),
            );
            onResponses(instance, (_client, status, _bytes, ms) => {
              counter += 1;
              if (status >= 200 && status < 300) latencies.push(ms);
            });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        }, (connection * 1_000) / connections);
      }),
  );
  let results: autocannon.Result[];
  try {
    results = await Promise.all(clients);
  } finally {
    clearInterval(ticker);
  }
  const statusCounts: Record<string, number> = {};
  for (const result of results) {
    for (const [status, count] of Object.entries(statusCountsOf(result))) statusCounts[status] = (statusCounts[status] ?? 0) + count;
  }
  const sorted = latencies.sort((a, b) => a - b);
  const sum = (pick: (result: autocannon.Result) => number) => results.reduce((total, result) => total + pick(result), 0);
  return {
    total: sum((result) => result.requests.total),
    latency: {
      p50: round(percentile(sorted, 0.5)),
      p75: round(percentile(sorted, 0.75)),
      p90: round(percentile(sorted, 0.9)),
      p97_5: round(percentile(sorted, 0.975)),
      p99: round(percentile(sorted, 0.99)),
      p99_9: round(percentile(sorted, 0.999)),
      max: round(sorted.at(-1) ?? 0),
      mean: round(sorted.reduce((total, ms) => total + ms, 0) / Math.max(1, sorted.length)),
    },
    statusCounts,
    non2xx: sum((result) => result.non2xx),
    errors: sum((result) => result.errors),
    timeouts: sum((result) => result.timeouts),
  };
}

const headerOf = (headers: NodeJS.Dict<string | string[]> | undefined, name: string) => {
  for (const [key, value] of Object.entries(headers ?? {})) if (key.toLowerCase() === name) return Array.isArray(value) ? value[0] : value;
  return undefined;
};
const numberOr = (text: string | undefined) => (text === undefined || text === '' || Number.isNaN(Number(text)) ? undefined : Number(text));

/** A background load, running until stopped; it records each refusal's Retry-After, RateLimit-Remaining and body. */
function startBackground(url: string, load: BackgroundLoad) {
  const refusals = new Map<string, Refusal>();
  const record = (status: number, body: string, headers: NodeJS.Dict<string | string[]> | undefined) => {
    let requestedCost: number | undefined;
    let code: string | undefined;
    try {
      const parsed = JSON.parse(body) as { errors?: { extensions?: { code?: string } }[]; extensions?: { cost?: { requestedQueryCost?: number } } };
      requestedCost = parsed.extensions?.cost?.requestedQueryCost;
      code = parsed.errors?.[0]?.extensions?.code;
    } catch {
      // Not JSON: recorded with neither.
    }
    const refusal = { status, retryAfter: numberOr(headerOf(headers, 'retry-after')), remaining: numberOr(headerOf(headers, 'ratelimit-remaining')), requestedCost, code };
    const key = JSON.stringify(refusal);
    refusals.set(key, { ...refusal, count: (refusals.get(key)?.count ?? 0) + 1 });
  };
  const requests = load.requests.map((request) => ({
    ...request,
    onResponse(status: number, body: string, _context: object, headers: NodeJS.Dict<string | string[]> | undefined) {
      if (status >= 400) record(status, body, headers);
    },
  }));
  const started = performance.now();
  let responses = 0;
  // Longer than any run; stop() ends it (autocannon notices at its next one-second tick).
  let instance: autocannon.Instance | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({ url, connections: load.connections, duration: 3_600, requests, timeout: 30 }, (error, result) =>
      error ? reject(error as Error) : resolve(result),
    );
  });
  onResponses(instance!, () => {
    responses += 1;
  });
  return {
    responses: () => responses,
    async stop(duringMeasured: number): Promise<BackgroundResult> {
      instance!.stop();
      const result = await done;
      const seconds = (performance.now() - started) / 1000;
      return {
        label: load.label,
        connections: load.connections,
        seconds,
        totalRequests: result.requests.total,
        requestsPerSecond: result.requests.total / seconds,
        duringMeasured,
        statusCounts: statusCountsOf(result),
        connectionErrors: result.errors,
        timeouts: result.timeouts,
        refusals: [...refusals.values()].sort((a, b) => b.count - a.count),
      };
    },
  };
}

/** Busy and total CPU time of the whole machine, from /proc/stat's first line (idle and iowait count as idle). */
function machineTicks(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
  } catch {
    return { busy: 0, total: 0 };
  }
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
  const background = load.background ? startBackground(url, load.background) : undefined;
  let warmup: Outcome | undefined;
  let measured: MeasuredRun;
  try {
    warmup = load.warmupSeconds > 0 ? await run(url, load, load.warmupSeconds) : undefined;
    measured = await measuredRun(server, url, load, admin, database, background);
  } catch (error) {
    await background?.stop(0).catch(() => undefined);
    throw error;
  }
  const { result, seconds, rssStart, rssSamples, pgSamples, statementsBefore, serverMicros, backgroundDuring } = measured;
  const backgroundResult = await background?.stop(backgroundDuring);
  const afterLoad = load.afterLoad ? await load.afterLoad(url) : [];
  const total = result.total;
  const statementsAfter = await tallyStatements(server);
  const rssEnd = server.rssBytes();
  await server.stop();
  const transactionsAfter = database ? await transactionsAfterExit(admin, database, transactionsBefore) : 0;
  // Every request the server answered between the two counts, the background load's (refusals too) included.
  const answered = total + (warmup?.total ?? 0) + (backgroundResult?.totalRequests ?? 0);

  return {
    requestsPerSecond: total / load.durationSeconds,
    totalRequests: total,
    latencyMs: result.latency,
    perSecond: measured.perSecond,
    statusCounts: result.statusCounts,
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
    cpuMicrosPerRequest: total + backgroundDuring > 0 ? serverMicros / (total + backgroundDuring) : 0,
    cpu: {
      serverCores: serverMicros / 1e6 / seconds,
      loadGeneratorCores: measured.loadGeneratorMicros / 1e6 / seconds,
      machineBusy: measured.machineBusy,
    },
    loadGeneratorLoopDelayMs: measured.loopDelayMs,
    ...(backgroundResult ? { background: backgroundResult } : {}),
    afterLoad,
  };
}

interface MeasuredRun {
  readonly result: Outcome;
  readonly seconds: number;
  readonly perSecond: number[];
  readonly rssStart: number;
  readonly rssSamples: number[];
  readonly pgSamples: number[];
  readonly statementsBefore: { sum: number; count: number } | undefined;
  readonly serverMicros: number;
  readonly loadGeneratorMicros: number;
  readonly machineBusy: number;
  readonly loopDelayMs: Measurement['loadGeneratorLoopDelayMs'];
  /** The background load's responses during the measured run. */
  readonly backgroundDuring: number;
}

const LOOP_DELAY_RESOLUTION_MS = 10;

/** The measured run, with what is sampled each second and what is read before and after it. */
async function measuredRun(
  server: RunningServer,
  url: string,
  load: Load,
  admin: pg.Client,
  database: string | undefined,
  background: { responses(): number } | undefined,
): Promise<MeasuredRun> {
  const rssStart = server.rssBytes();
  const rssSamples: number[] = [];
  const pgSamples: number[] = [];
  const sampler = setInterval(() => {
    rssSamples.push(server.rssBytes());
    if (database) void connectionsOf(admin, database).then((n) => pgSamples.push(n), () => undefined);
  }, 1_000);
  const statementsBefore = await tallyStatements(server);
  const cpuBefore = server.cpuMicros();
  const loadGeneratorBefore = process.cpuUsage();
  const machineBefore = machineTicks();
  const backgroundBefore = background?.responses() ?? 0;
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  const started = performance.now();
  const perSecond: number[] = [];
  let result: Outcome;
  loopDelay.enable();
  try {
    result = await run(url, load, load.durationSeconds, (counter) => perSecond.push(counter));
  } finally {
    loopDelay.disable();
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  const loadGenerator = process.cpuUsage(loadGeneratorBefore);
  const machineAfter = machineTicks();
  // The histogram holds each timer's whole interval: the delay is what exceeds it.
  const toMs = (nanos: number) => round(Math.max(0, nanos / 1e6 - LOOP_DELAY_RESOLUTION_MS));
  return {
    result,
    seconds,
    perSecond,
    rssStart,
    rssSamples,
    pgSamples,
    statementsBefore,
    serverMicros: server.cpuMicros() - cpuBefore,
    loadGeneratorMicros: loadGenerator.user + loadGenerator.system,
    machineBusy: machineAfter.total > machineBefore.total ? (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total) : 0,
    loopDelayMs: { p50: toMs(loopDelay.percentile(50)), p99: toMs(loopDelay.percentile(99)), max: toMs(loopDelay.max) },
    backgroundDuring: (background?.responses() ?? 0) - backgroundBefore,
  };
}
