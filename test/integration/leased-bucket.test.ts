/**
 * Leases (src/store/leased-bucket.ts) over the in-process bucket always and over Redis when REDIS_URL is set:
 * a busy client's operations cost few shared-bucket calls, yet no point is spent that the shared bucket did not
 * give, two instances leasing one client never spend more than it holds, and every unspent point goes back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryCostBucket, redisCostBucket, type BucketPolicy, type CostBucket } from '../../src/store/cost-bucket.js';
import { withFallback } from '../../src/store/fallback.js';
import { withLeases, type LeasedCostBucket } from '../../src/store/leased-bucket.js';
import { bucketStores, runPrefix } from '../helpers/cost-buckets.js';
import { privateRedis } from '../helpers/redis-server.js';
import { sleep } from '../helpers/wait.js';

/** So slow that no test sees a point come back: exact counts. */
const steady: BucketPolicy = { capacity: 1_000, restorePerSecond: 0.001 };
const prefix = runPrefix();
let keyNumber = 0;
const freshKey = () => `viewer:${(keyNumber += 1)}`;
/** The shared bucket, with a count of the calls that reach it (the round trips leases save). */
function counted(bucket: CostBucket) {
  const calls = { take: 0, refund: 0, upTo: [] as number[] };
  const wrapped: CostBucket = {
    take(key, cost, policy, upTo) {
      calls.take += 1;
      calls.upTo.push(upTo ?? cost);
      return bucket.take(key, cost, policy, upTo);
    },
    refund(key, points, policy, charge) {
      calls.refund += 1;
      return bucket.refund(key, points, policy, charge);
    },
  };
  return { bucket: wrapped, calls };
}

describe.each(bucketStores(prefix))('leases over the $name bucket', (store) => {
  let shared: CostBucket;
  let close: () => Promise<void> = () => Promise.resolve();
  const leased: LeasedCostBucket[] = [];
  const lease = (bucket: CostBucket) => {
    const instance = withLeases(bucket);
    leased.push(instance);
    return instance;
  };
  beforeAll(async () => {
    ({ bucket: shared, close } = await store.open());
  });
  afterAll(async () => {
    await Promise.all(leased.map((instance) => instance.close()));
    await close();
  });

  it('charges a client seen once exactly its cost, as without leases', async () => {
    const { bucket, calls } = counted(shared);
    const key = freshKey();
    expect(await lease(bucket).take(key, 40, steady)).toMatchObject({ allowed: true, taken: 40, remaining: 960 });
    expect(calls).toEqual({ take: 1, refund: 0, upTo: [40] });
    expect(await shared.take(key, 0, steady)).toMatchObject({ remaining: 960 });
  });

  it('serves a busy client from its lease: few shared calls, and every point accounted for', async () => {
    const { bucket, calls } = counted(shared);
    const instance = lease(bucket);
    const key = freshKey();
    // 20 operations of 10 points, each refunded 4 (an actual cost of 6): 120 points spent.
    for (let i = 0; i < 20; i += 1) {
      const charge = await instance.take(key, 10, steady);
      expect(charge.allowed).toBe(true);
      const after = await instance.refund(key, 4, steady, charge);
      // What the client is told stays the true total: shared bucket plus lease.
      expect(after.remaining).toBe(1_000 - 6 * (i + 1));
    }
    expect(calls.refund).toBe(0);
    expect(calls.take).toBeLessThan(8);
    // No lease holds more than a tenth of the bucket.
    expect(Math.max(...calls.upTo)).toBeLessThanOrEqual(100);
    await instance.close();
    expect(await shared.take(key, 0, steady)).toMatchObject({ remaining: 880 });
  });

  it('waits for one renewal instead of sending one per concurrent operation', async () => {
    const { bucket, calls } = counted(shared);
    const instance = lease(bucket);
    const key = freshKey();
    await instance.take(key, 5, steady);
    const states = await Promise.all(Array.from({ length: 50 }, () => instance.take(key, 5, steady)));
    expect(states.every((state) => state.allowed)).toBe(true);
    expect(calls.take).toBeLessThan(10);
    await instance.close();
    expect(await shared.take(key, 0, steady)).toMatchObject({ remaining: 1_000 - 51 * 5 });
  });

  it('charges a burst exactly, in parallel, when the lease cannot grow (a cost at its cap), never over-spending', async () => {
    const { bucket, calls } = counted(shared);
    const instance = lease(bucket);
    const key = freshKey();
    const small = { capacity: 100, restorePerSecond: 0.001 };
    await instance.take(key, 10, small);
    const states = await Promise.all(Array.from({ length: 20 }, () => instance.take(key, 10, small)));
    expect(states.filter((state) => state.allowed)).toHaveLength(9);
    // One renewal, then each waiter on its own: no chain of 19 renewals one after another.
    expect(Math.max(...calls.upTo)).toBe(10);
    await instance.close();
    expect(await shared.take(key, 0, small)).toMatchObject({ remaining: 0 });
  });

  it('never lets two instances together spend more than the bucket holds', async () => {
    const [a, b] = [lease(shared), lease(shared)];
    const key = freshKey();
    let spent = 0;
    // Alternating and concurrent, until both are refused.
    for (let round = 0; round < 200; round += 1) {
      const states = await Promise.all([a.take(key, 7, steady), b.take(key, 7, steady), a.take(key, 7, steady)]);
      const allowed = states.filter((state) => state.allowed).length;
      spent += allowed * 7;
      if (allowed === 0) break;
    }
    expect(spent).toBeLessThanOrEqual(1_000);
    // Leases may strand at most a few operations' worth until given back: the client is refused only near empty.
    expect(spent).toBeGreaterThan(1_000 - 3 * 7);
    const refused = await a.take(key, 7, steady);
    expect(refused).toMatchObject({ allowed: false, taken: 0 });
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    await Promise.all([a.close(), b.close()]);
    expect(await shared.take(key, 0, steady)).toMatchObject({ remaining: 1_000 - spent });
  });

  it('gives back, at close, what a renewal in flight adds', async () => {
    const instance = lease(shared);
    const key = freshKey();
    // 10 exactly, then a lease of 20 (10 left), spent; the fourth renews with 40 while close() runs.
    for (let i = 0; i < 3; i += 1) await instance.take(key, 10, steady);
    const renewing = instance.take(key, 10, steady);
    const closing = instance.close();
    expect((await renewing).allowed).toBe(true);
    await closing;
    expect(await shared.take(key, 0, steady)).toMatchObject({ remaining: 960 });
  });

  it('gives a lease back once its client has been idle', async () => {
    const instance = lease(shared);
    const key = freshKey();
    for (let i = 0; i < 4; i += 1) await instance.take(key, 10, steady);
    const held = await shared.take(key, 0, steady);
    expect(held.remaining).toBeLessThan(960);
    // Idle 500 ms, swept every 250 ms.
    await sleep(900);
    expect(await shared.take(key, 0, steady)).toMatchObject({ remaining: 960 });
  });
});

describe('leases over Redis with the in-process fallback, across an outage', () => {
  const outage = privateRedis();

  it('refunds a charge to the store that took it, whichever store the lease holds now', async () => {
    const fallback = memoryCostBucket();
    const events: string[] = [];
    const primary = redisCostBucket(outage.redis, { prefix });
    const instance = withLeases(withFallback(primary, fallback, { onUnavailable: () => events.push('down'), onRecovered: () => events.push('up') }));
    const key = freshKey();

    await outage.server.stop();
    const onFallback = await instance.take(key, 100, steady);
    expect(onFallback.allowed).toBe(true);
    expect(await fallback.take(key, 0, steady)).toMatchObject({ remaining: 900 });

    await outage.server.start();
    // New clients' calls reach the breaker (a known client is served from its lease) until it finds Redis.
    for (let i = 0; i < 100 && !events.includes('up'); i += 1) {
      await instance.take(freshKey(), 0, steady);
      await sleep(100);
    }
    expect(events).toEqual(['down', 'up']);
    // Now from Redis: the lease holds Redis' points from here on.
    for (let i = 0; i < 3; i += 1) expect((await instance.take(key, 10, steady)).allowed).toBe(true);

    // The refund of the charge the fallback took goes to the fallback, not into a lease of Redis' points.
    await instance.refund(key, 90, steady, onFallback);
    await instance.close();
    expect(await fallback.take(key, 0, steady)).toMatchObject({ remaining: 990 });
    expect(await primary.take(key, 0, steady)).toMatchObject({ remaining: 970 });
  });
});
