/**
 * The events others react to, recorded in the transaction of the write they tell of (the outbox,
 * `outbox_events` in src/db/schema.ts): a committed write always has its event, a rolled-back one never has, and
 * a crash after the commit loses nothing, as an in-process publish after the commit would.
 */
import { outboxEvents } from '../schema.js';
import type { Db } from '../client.js';

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

/** Inserts the event in `tx`, the transaction of its write; its id orders it among the others. */
export async function recordEvent(tx: Db, event: DomainEvent): Promise<number> {
  const [row] = await tx
    .insert(outboxEvents)
    .values({ type: event.type, aggregateType: 'user', aggregateId: actorOf(event), payload: event })
    .returning({ id: outboxEvents.id });
  return row!.id;
}
