/**
 * What happened, told after the database committed it, to whoever listens (caches, subscriptions): the mutations
 * publish without knowing who listens. In-process for now; the interface is all a Redis-backed bus would change.
 */
import type { Logger } from './logger.js';

export type DomainEvent =
  | { readonly type: 'user.signedUp'; readonly userId: number }
  | { readonly type: 'post.created'; readonly postId: number; readonly authorId: number }
  | { readonly type: 'follow.created' | 'follow.removed'; readonly followerId: number; readonly followeeId: number }
  | { readonly type: 'ledger.moved'; readonly entryIds: readonly number[]; readonly userIds: readonly number[] };

export type Listener = (event: DomainEvent) => void;

export interface EventBus {
  publish(event: DomainEvent): void;
  /** Returns the function that stops listening. */
  subscribe(listener: Listener): () => void;
}

export function createEventBus(logger: Logger): EventBus {
  const listeners = new Set<Listener>();
  return {
    publish(event) {
      for (const listener of listeners) {
        // The write is committed whatever a listener does: its failure is logged, never the client's error.
        try {
          listener(event);
        } catch (error) {
          logger.error({ err: error, event: event.type }, 'an event listener failed');
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
