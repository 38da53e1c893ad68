/**
 * The `faults` scenario: the seed-challenge's traffic (1,000 signed-in clients, 80% reads, 20% writes, through
 * PgBouncer) while, during the measured run, Redis is killed and started again, then PostgreSQL is stopped and
 * started again. Every response is classed as it arrives (clean, a retryable SERVICE_UNAVAILABLE or TIMEOUT, or
 * anything else); the report gives each fault's error window (its first to its last failed response) and the
 * recovery time (from the service answering again to the last failure), and checks that every money write the
 * clients saw acknowledged is in the ledger exactly once and that the ledger is sound.
 *
 * Redis is a private redis-server this scenario starts (killed with SIGKILL: an outage, not a shutdown).
 * PostgreSQL is the machine's own cluster, stopped with `pg_ctlcluster … stop -m fast` (every connection cut,
 * as a crash or a failover cuts them) and started again: run this scenario when nothing else uses it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type autocannon from 'autocannon';
import pg from 'pg';
import { ADMIN_URL } from './prepare.js';
import { redisServer, type RedisServer } from './redis-server.js';
import { seedChallengeLoad, verifyLedger, type ClientContext, type Scenario, type Verdict } from './scenarios.js';
import type { Measurement } from './measure.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds into the measured run (of 40) at which each fault begins and its service is started again. */
const REDIS_DOWN_AT = 5;
const REDIS_UP_AT = 10;
const POSTGRES_DOWN_AT = 18;
const POSTGRES_UP_AT = 22;
const DURATION_SECONDS = 40;
/** The acceptance's bound: clean answers again within 5 s of the service returning. */
const RECOVERY_BOUND_SECONDS = 5;
const RETRYABLE_CODES = new Set(['SERVICE_UNAVAILABLE', 'TIMEOUT']);

type Outcome = 'clean' | 'retryable' | 'failed';

/** One fault as it happened, in seconds into the measured run. */
export interface Fault {
  readonly service: 'Redis' | 'PostgreSQL';
  readonly downAt: number;
  /** When the service answered again (its start command returned). */
  readonly upAt: number;
  /** Its first and last failed (retryable or not) response from downAt until the next fault or the run's end. */
  readonly firstFailureAt: number | undefined;
  readonly lastFailureAt: number | undefined;
  readonly retryable: number;
  readonly failed: number;
  /** Seconds from upAt to the last failure; 0 when none came after it. */
  readonly recoverySeconds: number;
}

/** The PostgreSQL cluster the machine runs (Debian's pg_lsclusters): version and name. */
async function cluster(): Promise<[string, string]> {
  const { stdout } = await run('pg_lsclusters', ['--no-header']);
  const [version, name] = stdout.trim().split('\n')[0]!.trim().split(/\s+/);
  if (!version || !name) throw new Error(`pg_lsclusters named no cluster: ${stdout}`);
  return [version, name];
}

/** Resolves once PostgreSQL at `url` answers a query (tried every 50 ms, for at most a minute). */
async function acceptsConnections(url: string): Promise<void> {
  for (const until = Date.now() + 60_000; Date.now() < until; await sleep(50)) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch {
      // Not yet: the server is still starting (or refusing: "the database system is starting up").
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(`PostgreSQL at ${url} did not accept connections within a minute of its start`);
}

/** What one response says: clean, a retryable fault, or a failure. Bodies are parsed only when they hold errors. */
function classify(status: number, body: string): Outcome {
  if (status === 503) return 'retryable';
  if (status !== 200) return 'failed';
  if (!body.includes('"errors"')) return 'clean';
  try {
    const parsed = JSON.parse(body) as { errors?: { extensions?: { code?: string } }[] };
    const codes = (parsed.errors ?? []).map((error) => error.extensions?.code ?? 'UNKNOWN');
    if (codes.length === 0) return 'clean';
    return codes.every((code) => RETRYABLE_CODES.has(code)) ? 'retryable' : 'failed';
  } catch {
    return 'failed';
  }
}

export function faults(sizeName: 'demo' | 'load'): Scenario {
  const load = seedChallengeLoad(sizeName);
  let redis: RedisServer | undefined;
  // Responses by 100 ms of the measured run; before it starts (the warm-up) nothing is kept.
  let origin: number | undefined;
  const buckets = new Map<number, Record<Outcome, number>>();
  const acknowledged: string[] = [];
  const failedSamples = new Map<string, number>();
  const timeline: { service: Fault['service']; downAt: number; upAt: number }[] = [];

  const onResponse = (status: number, body: string, context: object) => {
    if (origin === undefined) return;
    const outcome = classify(status, body);
    const bucket = Math.floor((performance.now() - origin) / 100);
    const counts = buckets.get(bucket) ?? { clean: 0, retryable: 0, failed: 0 };
    counts[outcome] += 1;
    buckets.set(bucket, counts);
    const key = (context as ClientContext).idempotencyKey;
    // Acknowledged: the write answered with its entry (a payload error such as INSUFFICIENT_FUNDS wrote nothing).
    if (key && outcome === 'clean' && body.includes('"entry":{')) acknowledged.push(key);
    if (outcome === 'failed') {
      const sample = `${status} ${body.slice(0, 160)}`;
      failedSamples.set(sample, (failedSamples.get(sample) ?? 0) + 1);
    }
  };

  const since = () => (performance.now() - origin!) / 1000;
  const at = async (second: number) => sleep(Math.max(0, second * 1000 - (performance.now() - origin!)));

  const faultsOf = (): Fault[] =>
    timeline.map((fault, index) => {
      const until = timeline[index + 1]?.downAt ?? Infinity;
      let [first, last, retryable, failed] = [undefined as number | undefined, undefined as number | undefined, 0, 0];
      for (const [bucket, counts] of [...buckets].sort(([a], [b]) => a - b)) {
        const second = bucket / 10;
        if (second < Math.floor(fault.downAt * 10) / 10 || second >= until) continue;
        if (counts.retryable + counts.failed === 0) continue;
        first ??= second;
        last = second + 0.1;
        retryable += counts.retryable;
        failed += counts.failed;
      }
      return { ...fault, firstFailureAt: first, lastFailureAt: last, retryable, failed, recoverySeconds: Math.max(0, (last ?? 0) - fault.upAt) };
    });

  const perSecondRows = (): string[] => {
    const seconds = new Map<number, Record<Outcome, number>>();
    for (const [bucket, counts] of buckets) {
      const second = Math.floor(bucket / 10);
      const total = seconds.get(second) ?? { clean: 0, retryable: 0, failed: 0 };
      for (const outcome of ['clean', 'retryable', 'failed'] as const) total[outcome] += counts[outcome];
      seconds.set(second, total);
    }
    const events = (second: number) =>
      timeline
        .flatMap((fault) => [
          // As the fault table rounds them (to 0.1 s), so both say the same second.
          Math.floor(Number(fault.downAt.toFixed(1))) === second ? `${fault.service} down` : '',
          Math.floor(Number(fault.upAt.toFixed(1))) === second ? `${fault.service} back` : '',
        ])
        .filter(Boolean)
        .join(', ');
    return [...seconds]
      .sort(([a], [b]) => a - b)
      .filter(([second]) => second < DURATION_SECONDS)
      .map(([second, c]) => `| ${second}–${second + 1} | ${c.clean} | ${c.retryable} | ${c.failed} | ${events(second)} |`);
  };

  return {
    name: 'faults',
    description: `The seed-challenge's traffic (1,000 connections of ${load.viewers} signed-in users, 80% reads, 20% writes, through PgBouncer in transaction mode, POOL_MAX=10) for ${DURATION_SECONDS} s while Redis (a private redis-server) is killed at ${REDIS_DOWN_AT} s and started at ${REDIS_UP_AT} s, then PostgreSQL (the machine's cluster, \`pg_ctlcluster stop -m fast\`) is stopped at ${POSTGRES_DOWN_AT} s and started at ${POSTGRES_UP_AT} s. Every response is classed as clean, retryable (HTTP 503, or only SERVICE_UNAVAILABLE / TIMEOUT errors) or failed.`,
    size: load.size,
    sizeName: load.sizeName,
    throughPgBouncer: true,
    needsRedis: false,
    connections: 1_000,
    durationSeconds: DURATION_SECONDS,
    warmupSeconds: 10,
    async targets() {
      // Tally's Redis, to kill and start again: its URL is part of the target's environment.
      redis = await redisServer();
      await redis.start();
      const requests = (await load.requests()).map((request): autocannon.Request => ({ ...request, onResponse }));
      return [
        {
          label: 'Tally',
          server: 'tally',
          requests,
          env: { REDIS_URL: redis.url },
          // The faults' times are fixed seconds of this run, whatever --duration says.
          durationSeconds: DURATION_SECONDS,
          async duringLoad() {
            origin = performance.now();
            const [version, name] = await cluster();
            await at(REDIS_DOWN_AT);
            let downAt = since();
            await redis!.stop();
            await at(REDIS_UP_AT);
            await redis!.start();
            timeline.push({ service: 'Redis', downAt, upAt: since() });
            await at(POSTGRES_DOWN_AT);
            downAt = since();
            await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'stop', '-m', 'fast']);
            await at(POSTGRES_UP_AT);
            // Back when it first accepts a connection: pg_ctl start returns a second or two later (it polls).
            const started = run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'start']);
            await acceptsConnections(ADMIN_URL);
            timeline.push({ service: 'PostgreSQL', downAt, upAt: since() });
            await started;
            return [];
          },
        },
      ];
    },
    goals: [
      { description: 'zero connection errors and timeouts', holds: (r) => (r.get('Tally')?.connectionErrors ?? 1) + (r.get('Tally')?.timeouts ?? 1) === 0 },
      {
        description: 'no 5xx but the retryable 503s (while PostgreSQL is down)',
        holds: (r) => Object.entries(r.get('Tally')?.statusCounts ?? {}).every(([status]) => !status.startsWith('5') || status === '503'),
      },
      {
        description: 'Redis down: no failed or retryable response at all (budgets per process, caches bypassed)',
        holds: () => faultsOf().find((fault) => fault.service === 'Redis')?.firstFailureAt === undefined && timeline.length === 2,
      },
      {
        description: 'PostgreSQL down: every failure retryable (SERVICE_UNAVAILABLE or TIMEOUT), none other',
        holds: () => {
          const fault = faultsOf().find((each) => each.service === 'PostgreSQL');
          return fault ? fault.failed === 0 : undefined;
        },
      },
      {
        description: `clean answers again within ${RECOVERY_BOUND_SECONDS} s of each service returning`,
        holds: () => (timeline.length === 2 ? faultsOf().every((fault) => fault.recoverySeconds <= RECOVERY_BOUND_SECONDS) : undefined),
        detail: () =>
          faultsOf()
            .map((fault) => `${fault.service} ${fault.recoverySeconds.toFixed(1)} s`)
            .join(', '),
      },
      { description: '≤ 20 PostgreSQL server connections at every sample', holds: (r) => (r.get('Tally')?.peakPgConnections ?? Infinity) <= 20 },
    ],
    async verify(databaseUrl) {
      await redis?.stop();
      return [await everyAcknowledgedWriteOnce(databaseUrl, acknowledged), ...(await verifyLedger(databaseUrl))];
    },
    notes(results: ReadonlyMap<string, Measurement>) {
      const faultLines = faultsOf().map((fault) => {
        const window =
          fault.firstFailureAt === undefined
            ? 'no failed or retryable response'
            : `error window ${fault.firstFailureAt.toFixed(1)}–${fault.lastFailureAt!.toFixed(1)} s (${(fault.lastFailureAt! - fault.firstFailureAt).toFixed(1)} s): ${fault.retryable} retryable, ${fault.failed} failed`;
        return `| ${fault.service} | ${fault.downAt.toFixed(1)} s | ${fault.upAt.toFixed(1)} s | ${window} | ${fault.recoverySeconds.toFixed(1)} s |`;
      });
      const measured = results.get('Tally');
      const samples = [...failedSamples].sort(([, a], [, b]) => b - a).slice(0, 5);
      return [
        ['| fault | down at | back at | what clients saw | recovery (last failure after back) |', '| --- | ---: | ---: | --- | ---: |', ...faultLines].join('\n'),
        [
          '| second | clean | retryable | failed | event |',
          '| --- | ---: | ---: | ---: | --- |',
          ...perSecondRows(),
        ].join('\n'),
        `Money writes acknowledged (answered with their entry) over the measured run: ${acknowledged.length}; requests answered: ${measured?.totalRequests ?? 0}.`,
        ...(samples.length > 0 ? [`Failed responses, most frequent first: ${samples.map(([sample, count]) => `${count} × ${sample}`).join(' · ')}`] : []),
      ];
    },
  };
}

/** Every idempotency key a client saw acknowledged has its one ledger entry (a transfer's sending side) and no more. */
async function everyAcknowledgedWriteOnce(databaseUrl: string, keys: readonly string[]): Promise<Verdict> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ key: string; n: string }>(
      "select idempotency_key as key, count(*) as n from transactions where idempotency_key = any($1) and kind <> 'TRANSFER_IN' group by 1",
      [keys],
    );
    const counts = new Map(rows.map((row) => [row.key, Number(row.n)]));
    const missing = keys.filter((key) => !counts.has(key)).length;
    const doubled = [...counts.values()].filter((n) => n !== 1).length;
    return {
      description: `every acknowledged money write is in the ledger exactly once (${keys.length} acknowledged: ${missing} missing, ${doubled} more than once)`,
      holds: keys.length > 0 && missing === 0 && doubled === 0,
    };
  } finally {
    await client.end();
  }
}
