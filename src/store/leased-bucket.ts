/**
 * Leases of a busy client's points, so an instance asks the shared bucket once per lease instead of once per
 * operation. Over Redis every take and every refund is a script call: some 70 µs of CPU per request for the
 * command and its socket write, about a tenth of a feed request. Here an instance that sees a client again
 * while that client's last lease is fresh takes more than this operation needs in the same call (`upTo`),
 * keeps the rest, and serves the client's next operations from it with no round trip; refunds down to the
 * actual cost go to the lease too. A lease is sized to last about TARGET_MS of the client's demand on this
 * instance (doubling while it runs out sooner, halving when later), never more than MAX_SHARE of the bucket,
 * and what is left goes back to the shared bucket once the client has been idle here for IDLE_MS, or when the
 * instance stops.
 *
 * Nothing is ever overspent: every point spent was taken from the shared bucket first. What it costs: points
 * leased by one instance are not another's until given back (at most MAX_SHARE of a bucket per instance, for
 * at most IDLE_MS after the client's last request there), and `remaining` is this instance's account (the
 * shared bucket as its last answer left it, refilled since, plus the lease). A client seen once in IDLE_MS
 * takes exactly its cost, as it would without leases: a sparse client costs the same round trips as before.
 */
import { reportState, type BucketPolicy, type BucketState, type CostBucket } from './cost-bucket.js';

/** A client idle this long on this instance gets its lease's points back in the shared bucket. */
const IDLE_MS = 500;
/** How long one lease should last at the client's current pace here: about 10 round trips a second per client. */
const TARGET_MS = 100;
/** The most of a client's bucket one instance may hold: the rest stays shared with every other instance. */
const MAX_SHARE = 0.1;
/** Clients with a lease at once; past this, a new client is charged exactly, as without leases. */
const MAX_LEASES = 10_000;

export interface LeaseOptions {
  /** Told when giving a lease back fails (the shared bucket's own fallback normally answers instead). */
  readonly onError?: (error: unknown) => void;
  /** The clock in ms; default performance.now(). */
  readonly now?: () => number;
}

export interface LeasedCostBucket extends CostBucket {
  /** Gives every lease back to the shared bucket: at shutdown, so this instance's clients lose nothing. */
  close(): Promise<void>;
}

interface Lease {
  readonly policy: BucketPolicy;
  /** Points taken from the shared bucket and not yet spent. */
  balance: number;
  /** Points the last grant took, and when: the pace the next grant is sized by. */
  size: number;
  grantedAt: number;
  seenAt: number;
  /** Points the shared bucket held at its last answer for this client, and when that came. */
  sharedRemaining: number;
  sharedAt: number;
  /** The last grant: the store the balance's points came from, named by it when they go back. */
  charge?: BucketState;
  /** Set while one operation asks the shared bucket for more; the client's other operations wait on it. */
  renewing?: Promise<BucketState>;
}

export function withLeases(shared: CostBucket, options: LeaseOptions = {}): LeasedCostBucket {
  const now = options.now ?? (() => performance.now());
  const onError = options.onError ?? (() => {});
  const storeOf = (charge: BucketState) => shared.storeOf?.(charge) ?? 'shared';
  const leases = new Map<string, Lease>();
  const givingBack = new Set<Promise<unknown>>();
  // What each answer served from a lease was paid from: a refund goes back to that store's points.
  const paidFrom = new WeakMap<BucketState, BucketState>();
  let closed = false;

  /** The client's budget as this instance knows it: the shared bucket refilled since its last answer, plus the lease. */
  const account = (lease: Lease, allowed: boolean, cost: number): BucketState => {
    const { capacity, restorePerSecond } = lease.policy;
    const refilled = lease.sharedRemaining + (Math.max(0, now() - lease.sharedAt) * restorePerSecond) / 1000;
    const state = reportState(allowed, allowed ? cost : 0, Math.min(capacity, refilled + lease.balance), cost, lease.policy);
    if (allowed && lease.charge) paidFrom.set(state, lease.charge);
    return state;
  };

  const nextSize = (lease: Lease, need: number, time: number) => {
    const elapsed = time - lease.grantedAt;
    const paced = elapsed < TARGET_MS / 2 ? lease.size * 2 : elapsed > TARGET_MS * 2 ? lease.size / 2 : lease.size;
    return Math.max(need, Math.min(Math.floor(paced), Math.floor(lease.policy.capacity * MAX_SHARE)));
  };

  const giveBack = (key: string, policy: BucketPolicy, points: number, charge: BucketState | undefined) => {
    if (points <= 0 || !charge) return;
    const returned = shared.refund(key, points, policy, charge).catch(onError);
    givingBack.add(returned);
    void returned.finally(() => givingBack.delete(returned));
  };

  const sweep = setInterval(() => {
    const time = now();
    for (const [key, lease] of leases) {
      if (lease.renewing || time - lease.seenAt < IDLE_MS) continue;
      leases.delete(key);
      giveBack(key, lease.policy, lease.balance, lease.charge);
    }
  }, IDLE_MS / 2);
  sweep.unref();

  return {
    async take(key, cost, policy) {
      let waited = false;
      for (;;) {
        const lease = leases.get(key);
        if (lease?.renewing) {
          await lease.renewing.catch(() => {});
          waited = true;
          continue;
        }
        const time = now();
        if (lease && lease.balance >= cost) {
          lease.balance -= cost;
          lease.seenAt = time;
          return account(lease, true, cost);
        }
        if ((!lease && leases.size >= MAX_LEASES) || closed) return shared.take(key, cost, policy);

        // First sight: exactly the cost, and a lease of nothing yet that remembers the client for IDLE_MS.
        const entry: Lease = lease ?? { policy, balance: 0, size: cost, grantedAt: time, seenAt: time, sharedRemaining: 0, sharedAt: time };
        const need = cost - entry.balance;
        const upTo = lease ? nextSize(entry, need, time) : need;
        // The renewal just waited on left too little, and the next cannot be larger (its cap, or a pace that
        // shrinks it): charged exactly, in parallel with the others waiting, not one round trip after another.
        if (waited && upTo <= need) return shared.take(key, cost, policy);
        const renewal = shared.take(key, need, policy, upTo).then((state) => {
          entry.sharedRemaining = state.remaining;
          entry.sharedAt = now();
          entry.seenAt = entry.sharedAt;
          if (state.allowed) {
            // Points from another store than the lease's (Redis down, or back) are not pooled with its own: the
            // old balance goes back where it came from, and this operation is paid from the new points alone.
            if (entry.charge && storeOf(entry.charge) !== storeOf(state)) {
              giveBack(key, policy, entry.balance, entry.charge);
              entry.balance = state.taken - cost;
            } else {
              // The lease's old balance and `need` of the new points pay for this operation; the rest is kept.
              entry.balance += state.taken - cost;
            }
            entry.charge = state;
            entry.size = state.taken;
            entry.grantedAt = time;
          }
          return state;
        });
        entry.renewing = renewal;
        if (!lease) leases.set(key, entry);
        let state: BucketState;
        try {
          state = await renewal;
        } catch (error) {
          // Only a lease that never held points is forgotten: one refunded meanwhile still owes them back.
          if (!lease && entry.balance <= 0) leases.delete(key);
          throw error;
        } finally {
          entry.renewing = undefined;
        }
        if (state.allowed) return account(entry, true, cost);
        // Refunds that came in meanwhile may cover it now.
        if (entry.balance >= cost) continue;
        return { ...account(entry, false, cost), retryAfterMs: state.retryAfterMs };
      }
    },

    refund(key, points, policy, charge) {
      const paid = paidFrom.get(charge) ?? charge;
      const lease = leases.get(key);
      // Into the lease only if it holds points of the store this charge was paid from; else to that store.
      if (!lease?.charge || storeOf(lease.charge) !== storeOf(paid)) return shared.refund(key, points, policy, paid);
      lease.balance += points;
      lease.seenAt = now();
      return Promise.resolve(account(lease, true, 0));
    },

    async close() {
      closed = true;
      clearInterval(sweep);
      // A renewal in flight adds to its lease's balance: wait for it, then give everything back.
      await Promise.all([...leases.values()].flatMap((lease) => (lease.renewing ? [lease.renewing.catch(() => {})] : [])));
      for (const [key, lease] of leases) giveBack(key, lease.policy, lease.balance, lease.charge);
      leases.clear();
      await Promise.all(givingBack);
    },
  };
}
