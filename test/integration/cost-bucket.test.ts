/**
 * The cost bucket (src/store/cost-bucket.ts): one suite run against the in-process twin always and against
 * Redis when REDIS_URL is set, so both keep the same semantics; two clients sharing one Redis bucket; and the
 * fallback (src/store/fallback.ts) across a real redis-server that is killed and started again.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryCostBucket, redisCostBucket, type BucketPolicy, type CostBucket } from '../../src/store/cost-bucket.js';
import { withFallback } from '../../src/store/fallback.js';
import { bucketStores, removeKeys, runPrefix } from '../helpers/cost-buckets.js';
import { connectedRedis, privateRedis } from '../helpers/redis-server.js';
import { sleep } from '../helpers/wait.js';

/** So slow that no test lasts long enough to see a point come back: exact counts. */
const steady: BucketPolicy = { capacity: 10, restorePerSecond: 0.001 };
/** One point every 20 ms: refill and retry-after within a test's time. */
const quick: BucketPolicy = { capacity: 10, restorePerSecond: 50 };

const prefix = runPrefix();
const redisUrl = process.env['REDIS_URL'];
let keyNumber = 0;
const freshKey = () => `viewer:${(keyNumber += 1)}`;

describe.each(bucketStores(prefix))('cost bucket on $name', (implementation) => {
  let bucket: CostBucket;
  let close: () => Promise<void> = () => Promise.resolve();
  beforeAll(async () => {
    ({ bucket, close } = await implementation.open());
  });
  afterAll(() => close());

  it('starts a new client full', async () => {
    expect(await bucket.take(freshKey(), 0, steady)).toEqual({
      allowed: true,
      taken: 0,
      remaining: 10,
      capacity: 10,
      restorePerSecond: 0.001,
      retryAfterMs: 0,
      resetAfterMs: 0,
    });
  });

  it('takes what is asked while the budget lasts', async () => {
    const key = freshKey();
    expect(await bucket.take(key, 3, steady)).toMatchObject({ allowed: true, remaining: 7, retryAfterMs: 0 });
    const state = await bucket.take(key, 4, steady);
    expect(state).toMatchObject({ allowed: true, remaining: 3 });
    // 7 points missing at 0.001 a second: 7,000 s, less the instant since the first take.
    expect(state.resetAfterMs).toBeGreaterThan(6_990_000);
    expect(state.resetAfterMs).toBeLessThanOrEqual(7_000_000);
  });

  it('refuses a take above what is left, takes nothing, and says when enough is back', async () => {
    const key = freshKey();
    await bucket.take(key, 8, steady);
    const refused = await bucket.take(key, 3, steady);
    expect(refused).toMatchObject({ allowed: false, remaining: 2 });
    // One point short at 0.001 a second.
    expect(refused.retryAfterMs).toBeGreaterThan(990_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(1_000_000);
    expect(await bucket.take(key, 2, steady)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('gives a retry-after that is true: waited out, the same take is allowed', async () => {
    const key = freshKey();
    await bucket.take(key, 10, quick);
    const refused = await bucket.take(key, 5, quick);
    expect(refused.allowed).toBe(false);
    // Five points at 50 a second, less what came back since the first take.
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(100);
    // A few ms of slack for the same timer rounding; retry-after itself is exact (the test on its own clock).
    await sleep(refused.retryAfterMs + 3);
    expect(await bucket.take(key, 5, quick)).toMatchObject({ allowed: true });
  });

  it('takes up to upTo whole points when asked, at least the cost, and nothing when refused', async () => {
    const key = freshKey();
    expect(await bucket.take(key, 3, steady, 8)).toMatchObject({ allowed: true, taken: 8, remaining: 2 });
    expect(await bucket.take(key, 3, steady, 8)).toMatchObject({ allowed: false, taken: 0, remaining: 2 });
    expect(await bucket.take(key, 1, steady, 8)).toMatchObject({ allowed: true, taken: 2, remaining: 0 });
    // A peek takes nothing, whatever upTo says.
    expect(await bucket.take(key, 0, steady, 8)).toMatchObject({ allowed: true, taken: 0, remaining: 0 });
    const refund = await bucket.refund(key, 4, steady, await bucket.take(key, 0, steady));
    expect(refund).toMatchObject({ taken: 0, remaining: 4 });
  });

  it('refuses a cost above capacity, with retry-after until full', async () => {
    const key = freshKey();
    await bucket.take(key, 4, steady);
    const refused = await bucket.take(key, 11, steady);
    expect(refused).toMatchObject({ allowed: false, remaining: 6 });
    expect(refused.retryAfterMs).toBe(refused.resetAfterMs);
  });

  it('refunds points, never above capacity', async () => {
    const key = freshKey();
    const charge = await bucket.take(key, 6, steady);
    expect(await bucket.refund(key, 4, steady, charge)).toMatchObject({ allowed: true, remaining: 8 });
    expect(await bucket.refund(key, 100, steady, charge)).toMatchObject({ allowed: true, remaining: 10, resetAfterMs: 0 });
    expect(await bucket.take(key, 10, steady)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('refills over time, up to capacity', async () => {
    const key = freshKey();
    const empty = await bucket.take(key, 10, quick);
    expect(empty.remaining).toBe(0);
    expect(empty.resetAfterMs).toBeLessThanOrEqual(200);
    // Five points' time and a little: a timer may fire a fraction of a ms before the clock shows it passed.
    await sleep(110);
    const partly = await bucket.take(key, 0, quick);
    expect(partly.remaining).toBeGreaterThanOrEqual(5);
    await sleep(partly.resetAfterMs + 3);
    expect(await bucket.take(key, 0, quick)).toMatchObject({ remaining: 10, resetAfterMs: 0 });
  });

  it('peeks (cost 0) without changing anything', async () => {
    const key = freshKey();
    await bucket.take(key, 3, steady);
    for (let i = 0; i < 3; i += 1) expect(await bucket.take(key, 0, steady)).toMatchObject({ allowed: true, remaining: 7 });
  });

  it('keeps one bucket per key', async () => {
    const [spent, other] = [freshKey(), freshKey()];
    await bucket.take(spent, 10, steady);
    expect(await bucket.take(other, 10, steady)).toMatchObject({ allowed: true, remaining: 0 });
    expect((await bucket.take(spent, 1, steady)).allowed).toBe(false);
  });

  it('never over-spends under concurrent takes', async () => {
    const key = freshKey();
    const policy = { capacity: 100, restorePerSecond: 0.001 };
    const states = await Promise.all(Array.from({ length: 50 }, () => bucket.take(key, 3, policy)));
    expect(states.filter((state) => state.allowed)).toHaveLength(33);
    expect(await bucket.take(key, 0, policy)).toMatchObject({ remaining: 1 });
  });
});

describe('cost bucket in memory, on its own clock', () => {
  it('is allowed exactly when retry-after has passed, not a ms before', async () => {
    let time = 0;
    const bucket = memoryCostBucket({ now: () => time });
    await bucket.take('ip:203.0.113.9', 10, quick);
    const refused = await bucket.take('ip:203.0.113.9', 5, quick);
    expect(refused.retryAfterMs).toBe(100);
    time = 99;
    expect((await bucket.take('ip:203.0.113.9', 5, quick)).allowed).toBe(false);
    time = 100;
    expect(await bucket.take('ip:203.0.113.9', 5, quick)).toMatchObject({ allowed: true, remaining: 0 });
  });
});

describe.runIf(redisUrl)('cost bucket on redis, from two instances', () => {
  let first: Redis;
  let second: Redis;
  beforeAll(async () => {
    [first, second] = await Promise.all([connectedRedis(redisUrl!), connectedRedis(redisUrl!)]);
  });
  afterAll(async () => {
    await removeKeys(first, prefix);
    await Promise.all([first.quit(), second.quit()]);
  });

  it('shares one bucket between clients', async () => {
    const [a, b] = [redisCostBucket(first, { prefix }), redisCostBucket(second, { prefix })];
    const key = 'ip:2001:db8::1';
    await a.take(key, 6, steady);
    expect((await b.take(key, 5, steady)).allowed).toBe(false);
    expect(await b.take(key, 4, steady)).toMatchObject({ allowed: true, remaining: 0 });
    expect(await a.take(key, 0, steady)).toMatchObject({ remaining: 0 });

    const policy = { capacity: 100, restorePerSecond: 0.001 };
    const shared = freshKey();
    const states = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).take(shared, 3, policy)));
    expect(states.filter((state) => state.allowed)).toHaveLength(33);
  });

  it('expires a key when its bucket would be full, and deletes it once full again', async () => {
    const bucket = redisCostBucket(first, { prefix });
    const key = freshKey();
    const charge = await bucket.take(key, 4, quick);
    const ttl = await first.pttl(prefix + key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(charge.resetAfterMs);
    await bucket.refund(key, 4, quick, charge);
    expect(await first.exists(prefix + key)).toBe(0);
  });
});

describe('cost bucket falling back to memory while redis is down', () => {
  const outage = privateRedis();

  it('serves every call from memory during an outage, reports it once, and returns to redis', async () => {
    const events: string[] = [];
    const fallback = memoryCostBucket();
    const bucket = withFallback(redisCostBucket(outage.redis, { prefix }), fallback, {
      onUnavailable: () => events.push('unavailable'),
      onRecovered: () => events.push('recovered'),
    });

    const onRedis = await bucket.take('viewer:1', 4, steady);
    expect(onRedis.remaining).toBe(6);
    expect(await outage.redis.exists(`${prefix}viewer:1`)).toBe(1);

    await outage.server.stop();
    // The fallback has its own budget, starting full; sequential and concurrent calls all resolve.
    expect(await bucket.take('viewer:1', 2, steady)).toMatchObject({ allowed: true, remaining: 8 });
    for (let i = 0; i < 10; i += 1) await bucket.take('viewer:2', 0, steady);
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => bucket.take('viewer:3', 1, steady)));
    expect(concurrent.every((state) => state.allowed)).toBe(true);
    expect(await fallback.take('viewer:3', 0, steady)).toMatchObject({ remaining: 0 });
    const onMemory = await bucket.take('viewer:4', 5, steady);
    expect(events).toEqual(['unavailable']);

    // A charge Redis took is not refunded to memory, which never took it.
    expect(await bucket.refund('viewer:1', 4, steady, onRedis)).toMatchObject({ remaining: 8 });

    await outage.server.start();
    // The client reconnects within its retry delay (at most 2 s), then the breaker's next probe finds Redis.
    for (let i = 0; i < 100 && !events.includes('recovered'); i += 1) {
      await bucket.take('viewer:5', 0, steady);
      await sleep(100);
    }
    expect(events).toEqual(['unavailable', 'recovered']);

    // Redis again (the restarted server is empty, so viewer:1 starts full there).
    expect(await bucket.take('viewer:1', 1, steady)).toMatchObject({ remaining: 9 });
    expect(await outage.redis.exists(`${prefix}viewer:1`)).toBe(1);
    // A charge memory took is refunded to memory, though Redis is back.
    expect(await bucket.refund('viewer:4', 3, steady, onMemory)).toMatchObject({ remaining: 8 });
    expect(await fallback.take('viewer:4', 0, steady)).toMatchObject({ remaining: 8 });
    expect(await outage.redis.exists(`${prefix}viewer:4`)).toBe(0);
    expect(events).toEqual(['unavailable', 'recovered']);
  });
});
