/**
 * What happened, told after the database committed it, to whoever listens (caches, subscriptions): the mutations
 * publish without knowing who listens, and wait for the listeners before they answer, so the response cache has
 * dropped what a write changed before its client (or anyone it tells) can read again. In-process; the response
 * cache carries a write to the other instances through Redis (src/store/response-store.ts).
 */
import type { Logger } from './observability/logger.js';
import type { DomainEvent } from './db/queries/outbox.js';

export type { DomainEvent };

export type Listener = (event: DomainEvent) => void | Promise<void>;

export interface EventBus {
  /** Resolves once every listener has finished; never rejects (the write is committed whatever they do). */
  publish(event: DomainEvent): Promise<void>;
  /** Returns the function that stops listening. */
  subscribe(listener: Listener): () => void;
}

export function createEventBus(logger: Logger): EventBus {
  const listeners = new Set<Listener>();
  return {
    async publish(event) {
      // The write is committed whatever a listener does: its failure is logged, never the client's error.
      const outcomes = await Promise.allSettled([...listeners].map(async (listener) => listener(event)));
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') logger.error({ err: outcome.reason, event: event.type }, 'an event listener failed');
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
