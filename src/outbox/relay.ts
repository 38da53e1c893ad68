/**
 * The outbox relay: moves committed events (src/db/queries/outbox.ts) on to their consumers, at least once and
 * in order, and stamps them relayed.
 *
 * On PostgreSQL one round is one transaction: it takes the relay's advisory lock (transaction-scoped, so it works through
 * PgBouncer in transaction mode), claims the oldest unrelayed events with FOR UPDATE SKIP LOCKED, hands them to
 * every consumer in id order, stamps them and commits. Every instance runs a relay; the lock lets one round run at
 * a time across all of them, so no event is handed on twice at once and one user's events go out in the order they
 * became visible, which for one user is the order of their ids (src/db/queries/outbox.ts `recordEvent` takes the
 * user's outbox lock before it draws the id). A consumer that fails rolls the round back: its events stay
 * unrelayed and the next round hands them on again, to every consumer; consumers are idempotent (a job is keyed by
 * its event's id).
 *
 * A round runs when this process commits an event (`wake`): the instance that wrote an event relays it, unless
 * another holds the lock, and then it looks again shortly. Every `pollMs` a round runs whatever happened, for the
 * events of an instance that crashed before its relay ran. No NOTIFY: a trigger notifying on every write made the
 * ledger's retry storm 1.6× slower on PGlite (24–30 s against 46 s), and PostgreSQL serializes the commits of
 * notifying transactions behind one lock; the writer's own wake makes it unnecessary. Relayed events are deleted
 * after their retention by the hourly sweep (src/serve.ts, `pruneRelayed`).
 */
import { claimEvents, markRelayed, oldestUnrelayedSeconds, type RelayedEvent } from '../db/queries/outbox.js';
import type { Database, Db } from '../db/client.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

export type { RelayedEvent };

/** Who events are handed on to. */
export interface Consumer {
  /** For the log, when it fails. */
  readonly name: string;
  /** Handles a batch, in order; a rejection hands the whole batch on again later (to every consumer). */
  consume(events: readonly RelayedEvent[]): Promise<void>;
}

export interface RelayOptions {
  readonly database: Database;
  readonly consumers: readonly Consumer[];
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly pollMs: number;
  /** Events per round. */
  readonly batchSize?: number;
}

export interface OutboxRelay {
  /** Runs a round soon (after this process committed an event); rounds never overlap. */
  wake(): void;
  /** Runs rounds until none is left to claim (or another instance holds the lock); how many events this relayed. */
  drain(): Promise<number>;
  /** Stops waking and polling, and waits for the round in progress. */
  close(): Promise<void>;
}

const BATCH_SIZE = 100;
/** When another instance holds the lock, when this one looks again (it may have claimed before our commit). */
const BUSY_RETRY_MS = 100;

export function startRelay(options: RelayOptions): OutboxRelay {
  const { database, consumers, logger, metrics } = options;
  const batchSize = options.batchSize ?? BATCH_SIZE;
  let closed = false;
  let running: Promise<number> | undefined;
  let again = false;
  let busyRetry: NodeJS.Timeout | undefined;

  /** Claims, hands on and stamps one batch on `db`: undefined when another instance holds the lock. */
  const relayBatch = async (db: Db): Promise<RelayedEvent[] | undefined> => {
    const events = await claimEvents(db, batchSize);
    if (!events || events.length === 0) return events;
    for (const consumer of consumers) {
      try {
        await consumer.consume(events);
      } catch (error) {
        throw Object.assign(new Error(`the outbox consumer "${consumer.name}" failed`), { cause: error });
      }
    }
    // Stamped whether or not there are metrics: `metrics?.outboxRelayed(await markRelayed(…))` would skip the stamp.
    const lags = await markRelayed(db, events.map((event) => event.id));
    metrics?.outboxRelayed(lags);
    return events;
  };

  // PGlite is one connection in one process (WORKERS needs PostgreSQL): a transaction there would hold the only
  // connection while consumers query through it (the cache asks for an author's followers), so a round runs
  // without one; rounds never overlap in a process, and an event handed on but not stamped before a crash goes
  // out again at the next start, as at-least-once allows.
  const round = (): Promise<RelayedEvent[] | undefined> =>
    database.kind === 'pglite' ? relayBatch(database.db) : database.db.transaction((tx) => relayBatch(tx));

  /** Rounds until a short one, or until the lock is another instance's (then a look again shortly). */
  const rounds = async (): Promise<number> => {
    let relayed = 0;
    for (;;) {
      again = false;
      let events: RelayedEvent[] | undefined;
      try {
        events = await round();
      } catch (error) {
        metrics?.outboxRelayFailed();
        logger.warn({ err: error }, 'an outbox relay round failed; its events stay for the next round');
        // Not again at once for a wake that came meanwhile: a failing consumer waits for the poll.
        again = false;
        return relayed;
      }
      if (events === undefined) {
        // The look again shortly stands for any wake meanwhile: no round at once against a held lock.
        again = false;
        if (!closed && !busyRetry) {
          busyRetry = setTimeout(() => {
            busyRetry = undefined;
            wake();
          }, BUSY_RETRY_MS);
          busyRetry.unref();
        }
        return relayed;
      }
      relayed += events.length;
      if (closed || (events.length < batchSize && !again)) return relayed;
    }
  };

  const run = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = rounds().finally(() => {
      running = undefined;
      // A wake that came after the last round's claim (a commit it could not see) gets a round of its own.
      if (again && !closed) void run();
    });
    return running;
  };

  const wake = () => {
    if (!closed) void run();
  };

  metrics?.watchOutbox(() => oldestUnrelayedSeconds(database.db));
  const poll = setInterval(wake, options.pollMs);
  poll.unref();
  // Events committed while no relay ran (this instance was down, or all were) go out now.
  wake();

  return {
    wake,
    async drain() {
      let total = 0;
      for (;;) {
        const relayed = await run();
        total += relayed;
        if (relayed === 0) return total;
      }
    },
    async close() {
      closed = true;
      clearInterval(poll);
      if (busyRetry) clearTimeout(busyRetry);
      await running;
    },
  };
}
