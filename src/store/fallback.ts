/**
 * A store that keeps answering while Redis is down: each call the primary cannot answer (down, timed out) is
 * served by the fallback, an in-process twin, so rate limiting degrades to per-instance budgets instead of
 * failing requests. After a failure the primary is skipped for a second, then one call tries it again
 * (a circuit breaker): an outage costs the first requests one command timeout, not every request.
 */
import type { BucketState, CostBucket } from './cost-bucket.js';

export interface FallbackHooks {
  /** Once per outage, with the failure that began it. */
  onUnavailable(error: unknown): void;
  /** Once per outage, when the primary answers again. */
  onRecovered(): void;
}

const SKIP_PRIMARY_MS = 1_000;

/**
 * The breaker: runs each call on the primary unless it is known down, and on the fallback otherwise. Every
 * Redis-backed store shares it (the cost bucket here, the APQ documents, the response and user caches).
 */
export function failover(hooks: FallbackHooks) {
  let down = false;
  let retryAt = 0;
  return async function route<T>(onPrimary: () => Promise<T>, onFallback: () => Promise<T>): Promise<T> {
    const startedDown = down;
    if (startedDown) {
      if (Date.now() < retryAt) return onFallback();
      // This call probes; the ones arriving meanwhile keep to the fallback rather than all waiting on it.
      retryAt = Date.now() + SKIP_PRIMARY_MS;
    }
    let value: T;
    try {
      value = await onPrimary();
    } catch (error) {
      if (!down) {
        down = true;
        retryAt = Date.now() + SKIP_PRIMARY_MS;
        hooks.onUnavailable(error);
      }
      return onFallback();
    }
    // Only a call sent during the outage proves recovery: a reply to one sent before it may arrive late.
    if (down && startedDown) {
      down = false;
      hooks.onRecovered();
    }
    return value;
  };
}

/**
 * The cost bucket on `primary`, served by `fallback` while the primary is down. A refund goes where its
 * charge was taken: a fallback charge to the fallback (even once the primary is back), a primary charge to
 * the primary. A primary charge the primary cannot refund now is not given to the fallback, which never
 * took it; those points come back by refill.
 *
 * A command that timed out may still have run in Redis: that charge is then taken twice, once there and once
 * here, an overcharge of one operation's cost that refill repays; undercharging is what must never happen.
 */
export function withFallback(primary: CostBucket, fallback: CostBucket, hooks: FallbackHooks): CostBucket {
  const route = failover(hooks);
  // The states this wrapper returned for charges taken on the fallback; weak, so nothing is kept per request.
  const fallbackCharges = new WeakSet<BucketState>();
  return {
    take: (key, cost, policy, upTo) =>
      route(
        () => primary.take(key, cost, policy, upTo),
        async () => {
          const charge = await fallback.take(key, cost, policy, upTo);
          fallbackCharges.add(charge);
          return charge;
        },
      ),
    storeOf: (charge) => (fallbackCharges.has(charge) ? 'fallback' : 'primary'),
    refund: (key, points, policy, charge) => {
      if (fallbackCharges.has(charge)) return fallback.refund(key, points, policy, charge);
      return route(
        () => primary.refund(key, points, policy, charge),
        // While Redis is down the fallback's bucket is the one enforced, so it is the one to report.
        () => fallback.take(key, 0, policy),
      );
    },
  };
}
