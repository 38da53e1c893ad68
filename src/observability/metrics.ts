/**
 * Prometheus metrics, one registry per server (tests run several in one process). Operation names come from
 * clients, so their label is bounded: past MAX_OPERATIONS distinct names, new ones count as "other" instead of
 * growing memory without end.
 */
import type pg from 'pg';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const MAX_OPERATIONS = 200;

export interface RequestObservation {
  readonly operation: string;
  readonly status: number;
  readonly seconds: number;
  readonly sqlStatements: number;
  readonly errorCodes: readonly string[];
}

export interface Metrics {
  readonly registry: Registry;
  /** What /metrics answers: this registry, or under WORKERS every worker's, gathered (src/cluster.ts). */
  render(): Promise<string>;
  observe(observation: RequestObservation): void;
  /** The shared store (Redis) stopped answering for one use: its fallback serves until it does again. */
  storeUnavailable(use: StoreUse): void;
  storeRecovered(use: StoreUse): void;
  /** A response-cache lookup (src/cache/response-cache.ts): served from the cache, or executed. */
  responseCache(result: 'hit' | 'miss' | 'not_modified'): void;
  /** Entries dropped because a mutation changed what they show. */
  responseCacheInvalidations(entries: number): void;
  /** A user-row lookup behind the loader (src/cache/user-cache.ts). */
  userCache(result: 'hit' | 'miss', count: number): void;
  /** A request the prepared lane answered (src/http/prepared-lane.ts) instead of yoga. */
  preparedLane(operation: string): void;
  /** A request the node:http front refused before GraphQL (src/http/errors.ts). */
  refusal(status: number, code: string): void;
  /** Events the outbox relay handed on (src/outbox/relay.ts), each with its lag from commit to relay in seconds. */
  outboxRelayed(lagsSeconds: readonly number[]): void;
  /** A relay round that failed (a consumer or the database): its events stay for the next round. */
  outboxRelayFailed(): void;
  /** How `tally_outbox_oldest_unrelayed_seconds` is read at each scrape (the relay's backlog, from the database). */
  watchOutbox(oldestUnrelayedSeconds: () => Promise<number>): void;
}

/** What Tally keeps in Redis, each degrading on its own when Redis is down. */
export type StoreUse = 'cost' | 'documents' | 'responses' | 'users' | 'writers';

export interface MetricsOptions {
  /** Renders the host's metrics instead of this process's alone (a cluster worker's). */
  readonly gather?: () => Promise<string>;
}

export function createMetrics(pool: pg.Pool | undefined, options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  // Process memory, CPU, GC and event-loop lag (tally_nodejs_eventloop_lag_*), from prom-client's defaults.
  collectDefaultMetrics({ register: registry, prefix: 'tally_' });
  const registers = [registry];

  const requests = new Counter({
    name: 'tally_graphql_requests_total',
    help: 'GraphQL HTTP requests by operation name and HTTP status.',
    labelNames: ['operation', 'status'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'tally_graphql_errors_total',
    help: 'GraphQL errors in responses by operation name and extensions.code.',
    labelNames: ['operation', 'code'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'tally_graphql_request_duration_seconds',
    help: 'Time from request received to response ready, by operation name.',
    labelNames: ['operation'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const statements = new Histogram({
    name: 'tally_sql_statements_per_request',
    help: 'SQL statements one GraphQL request sent, by operation name (an N+1 shows here first).',
    labelNames: ['operation'] as const,
    buckets: [0, 1, 2, 3, 4, 6, 10, 20, 50],
    registers,
  });
  if (pool) {
    new Gauge({
      name: 'tally_pg_pool_clients',
      help: 'pg pool clients: in use, idle, and requests waiting for one.',
      labelNames: ['state'] as const,
      registers,
      collect() {
        this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
  }

  const storeOutages = new Counter({
    name: 'tally_store_outages_total',
    help: 'Times the shared store (Redis) stopped answering for a use (cost, documents, responses, users) and its fallback took over.',
    labelNames: ['use'] as const,
    registers,
  });
  const storeAvailable = new Gauge({
    name: 'tally_store_available',
    help: '1 while the shared store (Redis) answers for a use, 0 while its fallback serves instead.',
    labelNames: ['use'] as const,
    registers,
  });
  const responseLookups = new Counter({
    name: 'tally_response_cache_requests_total',
    help: 'Cacheable GET requests by result: hit (served from the cache), not_modified (304 from the cache), miss (executed).',
    labelNames: ['result'] as const,
    registers,
  });
  const invalidations = new Counter({
    name: 'tally_response_cache_invalidations_total',
    help: 'Response-cache entries dropped because a mutation changed what they show.',
    registers,
  });
  const userLookups = new Counter({
    name: 'tally_user_cache_lookups_total',
    help: 'Users looked up by id behind the loader, by result: hit (from the cache) or miss (from the database).',
    labelNames: ['result'] as const,
    registers,
  });

  const laneRequests = new Counter({
    name: 'tally_prepared_lane_requests_total',
    help: 'GraphQL requests answered by the prepared lane (a trusted operation by id, on node:http without yoga), by operation name; the rest of tally_graphql_requests_total went through yoga.',
    labelNames: ['operation'] as const,
    registers,
  });

  const refusals = new Counter({
    name: 'tally_http_refusals_total',
    help: 'Requests the node:http front refused before GraphQL (bad target or Host, unknown path, wrong method, body too large or too many bytes in flight, a client held by the penalty box), by HTTP status and code.',
    labelNames: ['status', 'code'] as const,
    registers,
  });

  const relayed = new Counter({
    name: 'tally_outbox_relayed_events_total',
    help: 'Outbox events the relay handed on to their consumers (at least once: a failed round repeats its events).',
    registers,
  });
  const relayLag = new Histogram({
    name: 'tally_outbox_relay_lag_seconds',
    help: "Time from an outbox event's commit to its relay, on the database's clock.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers,
  });
  const relayFailures = new Counter({
    name: 'tally_outbox_relay_failures_total',
    help: 'Relay rounds that failed (a consumer or the database); their events stay unrelayed for the next round.',
    registers,
  });
  let oldestUnrelayed: (() => Promise<number>) | undefined;
  new Gauge({
    name: 'tally_outbox_oldest_unrelayed_seconds',
    help: 'How long the oldest outbox event not yet relayed has waited (0: none waits); read from the database at each scrape.',
    registers,
    async collect() {
      if (!oldestUnrelayed) return;
      // A scrape must answer while the database does not: the gauge reads NaN (unknown) for this one.
      this.set(await oldestUnrelayed().catch(() => Number.NaN));
    },
  });

  const operations = new Set<string>();
  const bounded = (operation: string) => {
    if (operations.has(operation)) return operation;
    if (operations.size >= MAX_OPERATIONS) return 'other';
    operations.add(operation);
    return operation;
  };

  return {
    registry,
    render: options.gather ?? (() => registry.metrics()),
    observe({ operation, status, seconds, sqlStatements, errorCodes }) {
      const label = bounded(operation);
      requests.inc({ operation: label, status: String(status) });
      duration.observe({ operation: label }, seconds);
      statements.observe({ operation: label }, sqlStatements);
      for (const code of errorCodes) errors.inc({ operation: label, code });
    },
    storeUnavailable(use) {
      storeOutages.inc({ use });
      storeAvailable.set({ use }, 0);
    },
    storeRecovered(use) {
      storeAvailable.set({ use }, 1);
    },
    responseCache(result) {
      responseLookups.inc({ result });
    },
    responseCacheInvalidations(entries) {
      invalidations.inc(entries);
    },
    userCache(result, count) {
      userLookups.inc({ result }, count);
    },
    preparedLane(operation) {
      laneRequests.inc({ operation: bounded(operation) });
    },
    refusal(status, code) {
      refusals.inc({ status: String(status), code });
    },
    outboxRelayed(lagsSeconds) {
      relayed.inc(lagsSeconds.length);
      for (const lag of lagsSeconds) relayLag.observe(lag);
    },
    outboxRelayFailed() {
      relayFailures.inc();
    },
    watchOutbox(read) {
      oldestUnrelayed = read;
    },
  };
}
