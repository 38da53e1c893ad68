/**
 * Measures one server under one load: a warm-up run, then the measured run, while sampling every second the
 * server's RSS and the PostgreSQL connections of its database. SQL statements per request come from
 * pg_stat_database (committed + rolled back transactions: every statement outside BEGIN…COMMIT is one) for every
 * server, and from Tally's own /metrics where it has them.
 *
 * A load may be paced clients (each connection its own client, sending at most so many requests a second) and may
 * have a background load beside it (one client hammering), run from before the warm-up until the measured run ends.
 * It may also have something the runner does to the server while the measured run goes on (`duringLoad`: the
 * `cached-get` stampede drops the hot cached answer with a write, and counts what that costs).
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
  /**
   * Started with the measured run, beside it, and awaited when it ends: what the runner does to the server under
   * load and what followed. `url` is the GraphQL endpoint; `endsAt` the measured run's planned end (performance.now()).
   */
  readonly duringLoad?: (url: string, endsAt: number) => Promise<CacheDrop[]>;
}

/** One drop of a cached answer under load (`Load.duringLoad`): what the write dropped, and what refilling it cost. */
export interface CacheDrop {
  /** Seconds into the measured run when the write was sent. */
  readonly atSecond: number;
  /** How long the write took to answer (it answers once its drop is done: src/events.ts). */
  readonly writeMs: number;
  /** Cached entries the write dropped (tally_response_cache_invalidations_total). */
  readonly entriesDropped: number;
  /** From just before the write was sent until the figures below were read. */
  readonly windowSeconds: number;
  /** Over the window (tally_response_cache_requests_total): answers run by GraphQL, and answers from the cache. */
  readonly misses: number;
  readonly hits: number;
  /** SQL statements Tally sent for the cached operation over the window (tally_sql_statements_per_request_sum). */
  readonly sqlStatements: number;
  /** Whether the window ended before the load did, so all of it was under load. */
  readonly underLoad: boolean;
  /** Whether the cached answer after the window holds what the write wrote (the new post). */
  readonly answerHoldsWrite: boolean;
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
  /** Bytes the server sent per response over the measured run, head and body: what a client downloads. */
  readonly bytesPerResponse: number;
  readonly latencyMs: { p50: number; p75: number; p90: number; p97_5: number; p99: number; p99_9: number; max: number; mean: number };
  readonly perSecond: number[];
  readonly statusCounts: Record<string, number>;
  readonly non2xx: number;
  readonly connectionErrors: number;
  readonly timeouts: number;
  readonly sqlPerRequestPg: number;
  /** Tally's statements over the requests it answered: those GraphQL ran, and those its response cache answered (none). */
  readonly sqlPerRequestTally: number | undefined;
  /** Tally's response cache over the same span as sqlPerRequestTally, from /metrics; undefined for other servers. */
  readonly responseCache: ResponseCacheCounts | undefined;
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
  /** What `duringLoad` did and saw. */
  readonly drops?: CacheDrop[];
  /** This row's load, which a target may set apart from the run's (the stampede's 500 connections). */
  readonly load: { readonly connections: number; readonly durationSeconds: number };
  /**
   * The measured run's bounds in µs on the machine's monotonic clock (process.hrtime), the clock a `--cpu-prof`
   * profile's timestamps are on: the samples of the measured run (profile.ts).
   */
  readonly measuredWindow: { readonly fromMicros: number; readonly toMicros: number };
}

/**
 * Answers of Tally's response cache by how they went (tally_response_cache_requests_total): `hits` from the stored
 * bytes, `notModified` a 304 for an If-None-Match naming them (both without GraphQL), `misses` run and then kept.
 * SQL statements are every operation's (tally_sql_statements_per_request_sum).
 */
export interface ResponseCacheCounts {
  readonly hits: number;
  readonly notModified: number;
  readonly misses: number;
  readonly sqlStatements: number;
}

/** Answers from the cache (hits and 304s) over every cacheable GET Tally counted (those and the misses). */
export function hitRate(counts: ResponseCacheCounts | undefined): number | undefined {
  const all = counts ? counts.hits + counts.notModified + counts.misses : 0;
  return counts && all > 0 ? (counts.hits + counts.notModified) / all : undefined;
}

/** What measure() reads of a run, whether one autocannon instance made it or many paced ones. */
interface Outcome {
  readonly total: number;
  /** Bytes received, heads and bodies. */
  readonly bytes: number;
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
              bytes: result.throughput.total,
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
    bytes: sum((result) => result.throughput.total),
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

async function transactionsOf(admin: pg.Pool, database: string): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    'select xact_commit + xact_rollback as n from pg_stat_database where datname = $1',
    [database],
  );
  return Number(rows[0]?.n ?? 0);
}

async function connectionsOf(admin: pg.Pool, database: string): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    "select count(*) as n from pg_stat_activity where datname = $1 and backend_type = 'client backend'",
    [database],
  );
  return Number(rows[0]?.n ?? 0);
}

/** The count once the stopped server's backends have exited and flushed their statistics (a few seconds at most). */
async function transactionsAfterExit(admin: pg.Pool, database: string, before: number): Promise<number> {
  let last = before;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const [count, connections] = [await transactionsOf(admin, database), await connectionsOf(admin, database)];
    if (connections <= 1 && count === last) return count;
    last = count;
  }
  return last;
}

/** One sample of Tally's /metrics: its name and labels as Prometheus prints them, and its value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Every sample Tally's /metrics shows now; `url` is any URL of the server. */
export async function tallyMetrics(url: string): Promise<Sample[]> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include every one of `labels`. */
export function sumOf(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((total, sample) => total + sample.value, 0);
}

/** What measure() reads of Tally's /metrics before and after a run. */
interface TallyCounters {
  /** Tally's SQL-statements histogram, over every operation: statements, and the requests GraphQL ran. */
  readonly statements: number;
  readonly executed: number;
  readonly cache: Omit<ResponseCacheCounts, 'sqlStatements'>;
}

async function tallyCounters(server: RunningServer): Promise<TallyCounters | undefined> {
  if (!server.kind.startsWith('tally')) return undefined;
  const samples = await tallyMetrics(server.url);
  const cache = (result: string) => sumOf(samples, 'tally_response_cache_requests_total', { result });
  return {
    statements: sumOf(samples, 'tally_sql_statements_per_request_sum'),
    executed: sumOf(samples, 'tally_sql_statements_per_request_count'),
    cache: { hits: cache('hit'), notModified: cache('not_modified'), misses: cache('miss') },
  };
}

/** From two readings: the response cache's counts, and SQL statements per request Tally answered (cache or not). */
function tallyFigures(before: TallyCounters | undefined, after: TallyCounters | undefined): Pick<Measurement, 'sqlPerRequestTally' | 'responseCache'> {
  if (!before || !after) return { sqlPerRequestTally: undefined, responseCache: undefined };
  const statements = after.statements - before.statements;
  const responseCache = {
    hits: after.cache.hits - before.cache.hits,
    notModified: after.cache.notModified - before.cache.notModified,
    misses: after.cache.misses - before.cache.misses,
    sqlStatements: statements,
  };
  // A hit or a 304 never reaches GraphQL, so the histogram does not count it: it is a request with no SQL.
  const answered = after.executed - before.executed + responseCache.hits + responseCache.notModified;
  return { sqlPerRequestTally: answered > 0 ? statements / answered : undefined, responseCache };
}

/**
 * PostgreSQL 15 flushes a backend's statistics only when it has been idle a while (up to 10 s) or exits, so the
 * transaction count is read before the warm-up and after the server has stopped (its connections closed), and
 * divided by every request the server answered in between.
 */
export async function measure(
  server: RunningServer,
  load: Load,
  admin: pg.Pool,
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
  const { result, seconds, rssStart, rssSamples, pgSamples, countersBefore, serverMicros, backgroundDuring, drops } = measured;
  const backgroundResult = await background?.stop(backgroundDuring);
  const afterLoad = load.afterLoad ? await load.afterLoad(url) : [];
  const total = result.total;
  const countersAfter = await tallyCounters(server);
  const rssEnd = server.rssBytes();
  await server.stop();
  const transactionsAfter = database ? await transactionsAfterExit(admin, database, transactionsBefore) : 0;
  // Every request the server answered between the two counts, the background load's (refusals too) included.
  const answered = total + (warmup?.total ?? 0) + (backgroundResult?.totalRequests ?? 0);

  return {
    requestsPerSecond: total / load.durationSeconds,
    totalRequests: total,
    bytesPerResponse: total > 0 ? result.bytes / total : 0,
    latencyMs: result.latency,
    perSecond: measured.perSecond,
    statusCounts: result.statusCounts,
    non2xx: result.non2xx,
    connectionErrors: result.errors,
    timeouts: result.timeouts,
    // Per database, so the samplers' own queries (on the admin database) do not count.
    sqlPerRequestPg: answered > 0 ? (transactionsAfter - transactionsBefore) / answered : 0,
    ...tallyFigures(countersBefore, countersAfter),
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
    ...(drops ? { drops } : {}),
    load: { connections: load.connections, durationSeconds: load.durationSeconds },
    measuredWindow: measured.window,
  };
}

interface MeasuredRun {
  readonly result: Outcome;
  readonly seconds: number;
  readonly perSecond: number[];
  readonly rssStart: number;
  readonly rssSamples: number[];
  readonly pgSamples: number[];
  readonly countersBefore: TallyCounters | undefined;
  readonly serverMicros: number;
  readonly loadGeneratorMicros: number;
  readonly machineBusy: number;
  readonly loopDelayMs: Measurement['loadGeneratorLoopDelayMs'];
  /** The background load's responses during the measured run. */
  readonly backgroundDuring: number;
  readonly drops: CacheDrop[] | undefined;
  readonly window: Measurement['measuredWindow'];
}

const LOOP_DELAY_RESOLUTION_MS = 10;

const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/** The measured run, with what is sampled each second and what is read before and after it. */
async function measuredRun(
  server: RunningServer,
  url: string,
  load: Load,
  admin: pg.Pool,
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
  const countersBefore = await tallyCounters(server);
  const cpuBefore = server.cpuMicros();
  const loadGeneratorBefore = process.cpuUsage();
  const machineBefore = machineTicks();
  const backgroundBefore = background?.responses() ?? 0;
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  const fromMicros = monotonicMicros();
  const started = performance.now();
  const perSecond: number[] = [];
  // Settled into a value at once: a failure while the load still runs must wait for it, not end the process.
  const during = load.duringLoad?.(url, started + load.durationSeconds * 1000).then(
    (drops) => ({ drops }),
    (error: unknown) => ({ error }),
  );
  let result: Outcome;
  loopDelay.enable();
  try {
    result = await run(url, load, load.durationSeconds, (counter) => perSecond.push(counter));
  } finally {
    loopDelay.disable();
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  const toMicros = monotonicMicros();
  const serverMicros = server.cpuMicros() - cpuBefore;
  const loadGenerator = process.cpuUsage(loadGeneratorBefore);
  const machineAfter = machineTicks();
  const backgroundDuring = (background?.responses() ?? 0) - backgroundBefore;
  // Awaited once the run's own figures are taken, so a hook that outlasts the load does not stretch them.
  const duringOutcome = await during;
  if (duringOutcome && 'error' in duringOutcome) throw duringOutcome.error;
  // The histogram holds each timer's whole interval: the delay is what exceeds it.
  const toMs = (nanos: number) => round(Math.max(0, nanos / 1e6 - LOOP_DELAY_RESOLUTION_MS));
  return {
    result,
    seconds,
    perSecond,
    rssStart,
    rssSamples,
    pgSamples,
    countersBefore,
    serverMicros,
    loadGeneratorMicros: loadGenerator.user + loadGenerator.system,
    machineBusy: machineAfter.total > machineBefore.total ? (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total) : 0,
    loopDelayMs: { p50: toMs(loopDelay.percentile(50)), p99: toMs(loopDelay.percentile(99)), max: toMs(loopDelay.max) },
    backgroundDuring,
    drops: duringOutcome?.drops,
    window: { fromMicros, toMicros },
  };
}
