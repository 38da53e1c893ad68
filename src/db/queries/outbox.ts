/**
 * The events others react to, recorded in the transaction of the write they tell of (the outbox,
 * `outbox_events` in src/db/schema.ts): a committed write always has its event, a rolled-back one never has, and
 * a crash after the commit loses nothing, as an in-process publish after the commit would.
 */
import { asc, isNull, sql } from 'drizzle-orm';
import { outboxEvents } from '../schema.js';
import { rowsOf, type Db } from '../client.js';
import { inIds } from '../id-array.js';
import { deleteInBatches } from '../batched-delete.js';

export type DomainEvent =
  | { readonly type: 'user.signedUp'; readonly userId: number }
  | { readonly type: 'post.created'; readonly postId: number; readonly authorId: number }
  | { readonly type: 'follow.created' | 'follow.removed'; readonly followerId: number; readonly followeeId: number }
  | { readonly type: 'ledger.moved'; readonly entryIds: readonly number[]; readonly userIds: readonly number[] };

/**
 * The user whose history an event belongs to: the one who acted. The relay keeps each user's events in the order
 * they were written (a follow before its unfollow, a deposit before the transfer it paid for).
 */
export function actorOf(event: DomainEvent): number {
  switch (event.type) {
    case 'user.signedUp':
      return event.userId;
    case 'post.created':
      return event.authorId;
    case 'follow.created':
    case 'follow.removed':
      return event.followerId;
    case 'ledger.moved':
      return event.userIds[0]!;
  }
}

/**
 * Inserts the event in `tx`, the transaction of its write; its id orders it among the others. The insert first
 * takes its user's outbox lock (transaction-scoped, so it works through PgBouncer in transaction mode) and the id
 * is drawn after it: two transactions writing events of one user at once commit in the order of their ids. Without
 * it a later id could commit first, the relay would hand it on while the earlier one was still invisible, and that
 * user's events would go out of order (the two-relay test saw it). The lock is the last one a write takes and is
 * held only until its commit, so it waits on nothing but that commit and cannot deadlock.
 */
export async function recordEvent(tx: Db, event: DomainEvent): Promise<number> {
  const aggregateId = actorOf(event);
  const [row] = rowsOf<{ id: string | number }>(
    await tx.execute(sql`
      with serialized as materialized (select pg_advisory_xact_lock(hashtextextended(${`tally.outbox.user:${aggregateId}`}, 0)))
      insert into ${outboxEvents} (type, aggregate_type, aggregate_id, payload)
      select ${event.type}, 'user', ${aggregateId}, ${JSON.stringify(event)}::jsonb from serialized
      returning id`),
  );
  return Number(row!.id);
}

/** An event as the relay hands it on: its row's id and aggregate, and the event itself. */
export interface RelayedEvent {
  readonly id: number;
  readonly aggregateType: string;
  readonly aggregateId: number;
  readonly event: DomainEvent;
  readonly createdAt: Date;
}

/** One relay at a time, across every instance on this database: see src/outbox/relay.ts. */
const RELAY_LOCK = sql`hashtextextended('tally.outbox.relay', 0)`;

/**
 * In `tx`: the oldest unrelayed events, up to `limit`, locked until `tx` ends, or undefined when another relay holds
 * the relay's lock (it is relaying these very events). SKIP LOCKED as well, so a claim never waits on rows another
 * transaction holds.
 */
export async function claimEvents(tx: Db, limit: number): Promise<RelayedEvent[] | undefined> {
  const [lock] = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${RELAY_LOCK}) as locked`));
  if (!lock?.locked) return undefined;
  const rows = await tx
    .select()
    .from(outboxEvents)
    .where(isNull(outboxEvents.relayedAt))
    .orderBy(asc(outboxEvents.id))
    .limit(limit)
    .for('update', { skipLocked: true });
  return rows.map((row) => ({
    id: row.id,
    aggregateType: row.aggregateType,
    aggregateId: row.aggregateId,
    event: row.payload as DomainEvent,
    createdAt: row.createdAt,
  }));
}

/** In the claim's `tx`: stamps the events relayed; each one's lag from its commit to now, in seconds, on the database's clock. */
export async function markRelayed(tx: Db, ids: readonly number[]): Promise<number[]> {
  const rows = await tx
    .update(outboxEvents)
    .set({ relayedAt: sql`now()` })
    .where(inIds(outboxEvents.id, ids))
    .returning({ lag: sql<string>`extract(epoch from ${outboxEvents.relayedAt} - ${outboxEvents.createdAt})` });
  return rows.map((row) => Number(row.lag));
}

/** How long the oldest unrelayed event has waited, in seconds (0 when none waits): the relay's lag. */
export async function oldestUnrelayedSeconds(db: Db): Promise<number> {
  const [row] = rowsOf<{ seconds: string | number | null }>(
    await db.execute(sql`select extract(epoch from now() - created_at) as seconds from outbox_events where relayed_at is null order by id limit 1`),
  );
  return row?.seconds == null ? 0 : Math.max(0, Number(row.seconds));
}

/**
 * Deletes relayed events older than `retentionMs` (by when they were relayed, on the database's clock), in
 * batches; never an unrelayed one. Returns how many went.
 */
export function pruneRelayed(db: Db, retentionMs: number): Promise<number> {
  return deleteInBatches(db, outboxEvents, sql`${outboxEvents.relayedAt} < now() - make_interval(secs => ${retentionMs / 1000})`);
}
