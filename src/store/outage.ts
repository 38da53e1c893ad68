/**
 * How a Redis outage is told: once per outage and per use of Redis (cost budgets, APQ documents, cached
 * answers, cached users), logged with what each does meanwhile and counted in tally_store_outages_total and
 * tally_store_available by use. Each use has its own breaker (src/store/fallback.ts), so each says so itself.
 */
import type { Logger } from '../observability/logger.js';
import type { Metrics, StoreUse } from '../observability/metrics.js';
import type { FallbackHooks } from './fallback.js';

export type OutageHooks = (use: StoreUse, meanwhile: string) => FallbackHooks;

export function outageHooks(metrics: Metrics, logger: Logger): OutageHooks {
  return (use, meanwhile) => ({
    onUnavailable(error) {
      metrics.storeUnavailable(use);
      logger.warn({ err: error, use }, `redis is unavailable: ${meanwhile} until it is back`);
    },
    onRecovered() {
      metrics.storeRecovered(use);
      logger.info({ use }, 'redis is back');
    },
  });
}

/** What each use does while Redis is down, as the log line says it. */
export const MEANWHILE = {
  cost: 'cost budgets are kept per process',
  documents: 'automatic persisted queries are not registered (trusted documents still run)',
  responses: 'the response cache is bypassed',
  users: 'users are read from PostgreSQL',
  writers: 'signed-in viewers read from the primary, not the replicas',
} as const satisfies Record<StoreUse, string>;
