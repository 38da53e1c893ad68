/**
 * WORKERS=n: n processes on one host, sharing the port (node:cluster; the primary hands connections out in turn).
 * Every worker is a whole Tally, stateless: what they share lives in PostgreSQL and Redis, which is why more than
 * one worker needs both (src/config.ts refuses it otherwise). The primary serves nothing itself; it
 *
 * - starts the workers, and starts a worker again when one dies unasked (after 1 s, then up to 10 s between
 *   attempts while they keep dying), so one crash costs one process's share of the traffic for a moment;
 * - on SIGTERM or SIGINT passes the signal on, waits for every worker to drain (src/main.ts) and exits 0 when all
 *   did, 1 otherwise;
 * - answers /metrics for the whole host: a worker asked for /metrics asks the primary, which gathers every
 *   worker's registry (prom-client's AggregatorRegistry: counters and histograms summed, so a scrape that lands on
 *   any worker sees them all).
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from './observability/logger.js';

const METRICS_REQUEST = 'tally:metrics-request';
const METRICS_RESPONSE = 'tally:metrics-response';
const METRICS_TIMEOUT_MS = 3_000;
const RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 10_000;
/** A worker that lived this long was healthy: the next restart waits the least again. */
const HEALTHY_MS = 30_000;

interface MetricsRequest {
  readonly type: typeof METRICS_REQUEST;
  readonly id: number;
}
interface MetricsResponse {
  readonly type: typeof METRICS_RESPONSE;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

/** Runs the primary until its workers have stopped; resolves with the exit code. */
export function runPrimary(workers: number, graceMs: number, logger: Logger): Promise<number> {
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let failures = 0;
  const startedAt = new Map<Worker, number>();

  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
    worker.on('message', (message: MetricsRequest) => {
      if (message?.type !== METRICS_REQUEST) return;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: METRICS_RESPONSE, id: message.id, text } satisfies MetricsResponse),
        (error: Error) => worker.send({ type: METRICS_RESPONSE, id: message.id, error: error.message } satisfies MetricsResponse),
      );
    });
  };

  return new Promise((resolve) => {
    let code = 0;
    cluster.on('exit', (worker, exitCode, signal) => {
      const lived = Date.now() - (startedAt.get(worker) ?? Date.now());
      startedAt.delete(worker);
      if (stopping) {
        if (exitCode !== 0) code = 1;
        // Our own count: node:cluster drops a worker from cluster.workers only once it also disconnected, which
        // may come after this event (then the primary waited forever and Node ended it with exit code 13).
        if (startedAt.size === 0) resolve(code);
        return;
      }
      failures = lived > HEALTHY_MS ? 1 : failures + 1;
      const delay = Math.min(RESTART_DELAY_MS * 2 ** (failures - 1), MAX_RESTART_DELAY_MS);
      logger.error({ pid: worker.process.pid, exitCode, signal, restartInMs: delay }, 'a worker died; starting another');
      setTimeout(() => !stopping && fork(), delay).unref();
    });

    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, workers: Object.keys(cluster.workers ?? {}).length }, 'stopping the workers');
      const running = Object.values(cluster.workers ?? {});
      if (running.length === 0) resolve(0);
      for (const worker of running) worker?.process.kill(signal);
      // A worker that does not stop within its own grace and close is not waited for.
      setTimeout(() => resolve(1), graceMs + 10_000).unref();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));

    for (let started = 0; started < workers; started += 1) fork();
    logger.info({ workers }, 'started the workers');
  });
}

let nextRequest = 0;
const pending = new Map<number, (response: MetricsResponse) => void>();

/**
 * In a worker: answer the primary's gathering with this registry (prom-client's worker side listens once an
 * AggregatorRegistry exists), and listen for the answers to this worker's own requests.
 */
export function shareMetrics(registry: Registry): void {
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  process.on('message', (message: MetricsResponse) => {
    if (message?.type === METRICS_RESPONSE) pending.get(message.id)?.(message);
  });
}

/** In a worker (after shareMetrics): the metrics of every worker of the host, gathered by the primary. */
export function clusterMetrics(): Promise<string> {
  const id = (nextRequest += 1);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error('the primary did not send the metrics in time'));
    }, METRICS_TIMEOUT_MS);
    pending.set(id, (response) => {
      clearTimeout(timer);
      pending.delete(id);
      if (response.text !== undefined) resolve(response.text);
      else reject(new Error(response.error ?? 'no metrics'));
    });
    process.send!({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
  });
}
