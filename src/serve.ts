/**
 * The process, once src/main.ts has read the config (and started tracing): database → Redis → server → listen. On SIGTERM or SIGINT, `/readyz` fails at once (a load
 * balancer still probing over a kept-alive connection stops routing here), the listener stops accepting, requests
 * in flight finish within SHUTDOWN_GRACE_MS (keep-alive connections close after their last response), then the
 * pools and Redis close and the process exits 0; 1 when the grace period had to cut requests short. With
 * WORKERS > 1 this process is the primary of that many such workers (src/cluster.ts).
 */
import cluster from 'node:cluster';
import { clusterMetrics, runPrimary, shareMetrics } from './cluster.js';
import { signToken, createTokenVerifier } from './auth/jwt.js';
import { openDatabase } from './db/client.js';
import { migrateDatabase } from './db/migrate.js';
import { userByUsername } from './db/queries/users.js';
import { DEMO_USERNAME, SEED_SIZES, seedIfEmpty } from './db/seed.js';
import { drainer } from './http/drain.js';
import { createEventBus } from './events.js';
import { createNodeServer } from './http/node-server.js';
import { removeExpiredKeys } from './ledger/idempotency.js';
import { createLogger, type Logger } from './observability/logger.js';
import type { ReadinessCheck } from './observability/readiness.js';
import { createTally } from './server.js';
import { loadTrustedDocuments } from './persisted/trusted-documents.js';
import { connectWithin, openRedis } from './store/redis.js';
import { createMetrics } from './observability/metrics.js';
import { outageHooks } from './store/outage.js';
import { openStores } from './store/stores.js';
import { createCaches } from './cache/caches.js';
import { startRelay } from './outbox/relay.js';
import { pruneRelayed } from './db/queries/outbox.js';
import { schema } from './schema/index.js';
import type { Config } from './config.js';
import type { Tracing } from './observability/tracing.js';

const SWEEP_INTERVAL_MS = 3_600_000;
const FIRST_SWEEP_MS = 60_000;
/** How long start waits for Redis: a connect timeout (2 s) and a little, then it listens with the stores degraded. */
const REDIS_CONNECT_WAIT_MS = 2_500;

export async function serve(config: Config, tracing: Tracing | undefined): Promise<void> {
  const root = createLogger(config, undefined, tracing ? { mixin: () => tracing.logFields() } : {});
  if (config.workers > 1 && cluster.isPrimary) {
    process.exit(await runPrimary(config.workers, config.shutdownGraceMs, root));
  }
  const logger = cluster.isWorker ? root.child({ worker: cluster.worker!.id, pid: process.pid }) : root;
  const database = await openDatabase(config.database, {
    onPoolError: (error) => logger.warn({ err: error }, 'an idle PostgreSQL connection failed; the pool replaces it'),
  });

  if (database.movedAside) {
    logger.warn({ dataDir: config.database.kind === 'pglite' ? config.database.dataDir : undefined, movedAside: database.movedAside }, 'the embedded database was made by another PostgreSQL major (an older PGlite): kept aside, starting afresh');
  }
  if (config.database.kind === 'pglite') {
    // The embedded default sets itself up: a newcomer runs `npm start` and nothing else.
    await migrateDatabase(database);
    if (await seedIfEmpty(database.db, SEED_SIZES.demo)) logger.info({ dataDir: config.database.dataDir }, 'seeded demo data');
  }

  const metrics = createMetrics(database.pool, cluster.isWorker ? { gather: clusterMetrics } : {});
  if (cluster.isWorker) shareMetrics(metrics.registry);
  let stopping = false;
  const readinessChecks: ReadinessCheck[] = [
    { name: 'shutdown', check: () => (stopping ? Promise.reject(new Error('draining')) : Promise.resolve()) },
  ];
  const redis = config.redis ? openRedis(config.redis) : undefined;
  if (redis) {
    // Connected before the first request, so budgets are shared from the start; if Redis is not there within
    // REDIS_CONNECT_WAIT_MS, each store degrades until it is, and ioredis keeps trying.
    const notConnected = await connectWithin(redis, REDIS_CONNECT_WAIT_MS);
    if (notConnected) logger.warn({ err: notConnected }, 'redis is not reachable yet');
  }
  const stores = openStores(config, redis, { hooks: outageHooks(metrics, logger), prefix: config.redisKeyPrefix });
  readinessChecks.push(...stores.readiness);
  const { responseCache, userCache } = createCaches(config, stores, { metrics, database, schema });

  let graphiqlToken: string | undefined;
  if (config.jwt.kind === 'secret' && config.jwt.development && config.env !== 'production') {
    const demo = await userByUsername(database.db, DEMO_USERNAME);
    if (demo) graphiqlToken = await signToken(config.jwt, demo.id);
  }

  const events = createEventBus(logger);
  const tally = createTally({
    config,
    database,
    logger,
    verifyToken: createTokenVerifier(config.jwt),
    events,
    readinessChecks,
    graphiqlToken,
    costBucket: stores.costBucket,
    metrics,
    trustedDocuments: loadTrustedDocuments(config.persisted.manifests),
    documentStore: stores.documents,
    responseCache,
    ...(userCache ? { userCache } : {}),
    recentWriters: stores.writers,
    tracing: Boolean(tracing),
  });
  // The outbox's consumers: for now the caches' backstop (the mutation has already dropped what it changed).
  const relay = startRelay({
    database,
    consumers: [{ name: 'caches', consume: async (relayed) => void (await Promise.all(relayed.map(({ event }) => tally.dropChanged(event)))) }],
    logger,
    metrics,
    pollMs: config.outbox.pollMs,
  });
  // An event this process committed goes out at once rather than at the next poll.
  events.subscribe(() => relay.wake());
  const server = createNodeServer(tally.listener, config.http);
  const shutdown = drainer(server, config.shutdownGraceMs);

  // Rows past their retention (idempotency keys after 24 hours, relayed outbox events after OUTBOX_RETENTION_HOURS):
  // every instance sweeps a minute after start and hourly after that (two deleting the same old rows is harmless),
  // so instances that restart often still sweep.
  const sweeps = [
    sweepHourly(logger, 'expired idempotency keys', () => removeExpiredKeys(database.db)),
    sweepHourly(logger, 'relayed outbox events past their retention', () => pruneRelayed(database.db, config.outbox.retentionMs)),
  ];

  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port, database: database.kind, redis: config.redis?.kind ?? 'none', env: config.env }, 'listening');
  // One banner per host, not one per worker.
  if (config.env !== 'production' && (cluster.worker?.id ?? 1) === 1) {
    const lines = [`Tally is serving GraphiQL at http://localhost:${port}/graphql (${database.kind} database)`];
    if (graphiqlToken) {
      lines.push(`Demo user "${DEMO_USERNAME}" token (pre-filled in GraphiQL's headers):`, `  Authorization: Bearer ${graphiqlToken}`);
    }
    console.log(lines.join('\n'));
  }

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    for (const stopSweep of sweeps) stopSweep();
    logger.info({ signal }, 'draining');
    // Should closing a pool hang (a query cut by the deadline still running), the process still ends.
    setTimeout(() => process.exit(1), config.shutdownGraceMs + 5_000).unref();
    const drained = await shutdown.drain();
    // The round in progress finishes (or its events stay for another instance) before the pools close.
    await relay.close().catch((error: unknown) => logger.warn({ err: error }, 'stopping the outbox relay failed'));
    if (!drained) logger.warn({ graceMs: config.shutdownGraceMs }, 'shutdown grace period passed: closed the connections still open');
    // The requests are done either way: a pool that fails to close is logged, and the exit code stays honest.
    try {
      await database.close();
    } catch (error) {
      logger.error({ err: error }, 'closing the database failed');
    }
    try {
      // Points leased to this instance and not spent go back to the shared budget before Redis closes.
      await stores.close();
      redis?.disconnect();
    } catch (error) {
      logger.error({ err: error }, 'closing redis failed');
    }
    // The spans of the last requests, sent before the process goes.
    await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'sending the last spans failed'));
    logger.info({ drained }, 'stopped');
    process.exit(drained ? 0 : 1);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** Runs `sweep` a minute after start and hourly after that, each run's count or failure logged; the function that stops it. */
function sweepHourly(logger: Logger, what: string, sweep: () => Promise<number>): () => void {
  const run = () => {
    sweep().then(
      (removed) => removed > 0 && logger.info({ removed }, `removed ${what}`),
      (error: unknown) => logger.warn({ err: error }, `removing ${what} failed; the next sweep retries`),
    );
  };
  const first = setTimeout(run, FIRST_SWEEP_MS);
  first.unref();
  const hourly = setInterval(run, SWEEP_INTERVAL_MS);
  hourly.unref();
  return () => {
    clearTimeout(first);
    clearInterval(hourly);
  };
}
