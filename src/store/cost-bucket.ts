/**
 * The cost bucket: every client's budget of query points, a leaky bucket (Shopify-style) that holds at most
 * `capacity` points and refills continuously at `restorePerSecond`. A request is charged its requested cost
 * up front and refunded down to its actual cost after it runs.
 *
 * Two implementations with the same math: Redis, so every instance sees one budget per client, and an
 * in-process twin for the embedded default (and for the fallback while Redis is down). Per key only
 * (tokens, timestamp) is stored; the policy comes with each call, so viewers and anonymous IPs can differ.
 * A key never seen, or expired, reads as a full bucket, which lets both forget a client once it is full again.
 */
import type { SharedRedis } from './redis.js';

export interface BucketPolicy {
  /** Most points the bucket holds; a full bucket is a new client's starting budget. */
  readonly capacity: number;
  /** Points restored per second, continuously (positive). */
  readonly restorePerSecond: number;
}

export interface BucketState {
  /** Whether the points asked for were taken (always true for a refund or a peek). */
  readonly allowed: boolean;
  /** Points taken by this operation: from `cost` up to `upTo` when allowed, 0 when refused or refunding. */
  readonly taken: number;
  /** Points left after this operation (a whole number, floor). */
  readonly remaining: number;
  readonly capacity: number;
  readonly restorePerSecond: number;
  /** When refused: ms until enough points are back for the cost asked (a true figure, ceil). 0 when allowed. */
  readonly retryAfterMs: number;
  /** ms until the bucket is full again (0 when full). */
  readonly resetAfterMs: number;
}

export interface CostBucket {
  /**
   * Takes `cost` points from `key`'s bucket if at least that many are left, atomically; otherwise takes
   * nothing and says when enough will be back. Given `upTo` (≥ cost), takes as many whole points up to it as
   * are left, at least `cost`: how an instance leases a hot client's points in one call (leased-bucket.ts).
   * Cost 0 is a peek (never refused, changes nothing). Callers refuse a cost above capacity themselves; asked
   * anyway, it is refused with retryAfterMs until full.
   */
  take(key: string, cost: number, policy: BucketPolicy, upTo?: number): Promise<BucketState>;
  /**
   * Gives `points` back to `key`'s bucket, never above capacity. `charge` is the state `take` returned for
   * the charge being refunded (the same object): a store that can serve a take from more than one place
   * (withFallback) uses it to refund where the points were taken.
   */
  refund(key: string, points: number, policy: BucketPolicy, charge: BucketState): Promise<BucketState>;
  /**
   * Which of its stores took a charge, for a store that serves from more than one (withFallback): a layer above
   * that pools points (leased-bucket.ts) keeps each store's apart. Absent: one store.
   */
  storeOf?(charge: BucketState): string;
}

/** What every implementation reports, from the fractional tokens left after an operation. */
export function reportState(allowed: boolean, taken: number, tokens: number, cost: number, policy: BucketPolicy): BucketState {
  const msUntil = (points: number) => Math.max(0, Math.ceil(((points - tokens) * 1000) / policy.restorePerSecond));
  return {
    allowed,
    taken,
    remaining: Math.floor(tokens),
    capacity: policy.capacity,
    restorePerSecond: policy.restorePerSecond,
    retryAfterMs: allowed ? 0 : msUntil(Math.min(cost, policy.capacity)),
    resetAfterMs: msUntil(policy.capacity),
  };
}

export interface RedisCostBucketOptions {
  /** Prefix of every bucket's key; default `tally:cost:`. Tests use their own so runs never share buckets. */
  readonly prefix?: string;
}

/**
 * KEYS[1] the bucket; ARGV capacity, restorePerSecond, amount, 'take' | 'refund', upTo (≥ amount, for a take).
 * Returns { 1 | 0 (allowed), points taken, tokens left as a string } (Redis would truncate a Lua number to an
 * integer). Redis' own clock, so instances with skewed clocks agree; never negative elapsed time, so a clock
 * stepping back cannot take points. Nothing is written unless points move; a bucket full again is deleted (a
 * missing key reads as full), and any other expires when it would be full, so idle clients cost no memory.
 */
const BUCKET_SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = capacity
if stored[1] then
  tokens = math.min(capacity, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * rate / 1000)
end
local allowed = 1
local taken = 0
if ARGV[4] == 'refund' then
  tokens = math.min(capacity, tokens + amount)
elseif tokens >= amount then
  taken = math.max(amount, math.min(tonumber(ARGV[5]), math.floor(tokens)))
  tokens = tokens - taken
else
  allowed = 0
end
if allowed == 1 and amount > 0 then
  if tokens >= capacity then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
    redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil((capacity - tokens) * 1000 / rate)))
  end
end
return { allowed, taken, string.format('%.17g', tokens) }
`;

type ScriptedRedis = SharedRedis & {
  tallyCostBucket(key: string, capacity: number, rate: number, amount: number, mode: 'take' | 'refund', upTo: number): Promise<[number, number, string]>;
};

/** The shared bucket: one script call (EVALSHA, EVAL once per connection) per operation, atomic in Redis. */
export function redisCostBucket(redis: SharedRedis, options: RedisCostBucketOptions = {}): CostBucket {
  const prefix = options.prefix ?? 'tally:cost:';
  redis.defineCommand('tallyCostBucket', { numberOfKeys: 1, lua: BUCKET_SCRIPT });
  const scripted = redis as ScriptedRedis;
  const run = async (key: string, amount: number, mode: 'take' | 'refund', policy: BucketPolicy, upTo: number) => {
    const [allowed, taken, tokens] = await scripted.tallyCostBucket(prefix + key, policy.capacity, policy.restorePerSecond, amount, mode, upTo);
    return reportState(allowed === 1, taken, Number(tokens), amount, policy);
  };
  return {
    take: (key, cost, policy, upTo = cost) => run(key, cost, 'take', policy, leaseOf(cost, upTo)),
    refund: (key, points, policy) => run(key, points, 'refund', policy, points),
  };
}

/** What a take may take: from its cost up to `upTo`; a peek (cost 0) nothing, since it writes nothing. */
const leaseOf = (cost: number, upTo: number) => (cost === 0 ? 0 : Math.max(cost, upTo));

export interface MemoryCostBucketOptions {
  /** The clock in ms; default performance.now(), monotonic, so a wall-clock step neither mints nor takes points. */
  readonly now?: () => number;
}

/** Buckets held before the first sweep for full ones; after a sweep, twice what it kept. */
const FIRST_SWEEP_AT = 10_000;

/** The in-process twin: the script's math over a Map, for one process. */
export function memoryCostBucket(options: MemoryCostBucketOptions = {}): CostBucket {
  const now = options.now ?? (() => performance.now());
  // `fullAt` is the twin of the script's PEXPIRE: past it, the entry says nothing a missing one would not.
  const buckets = new Map<string, { tokens: number; at: number; fullAt: number }>();
  let sweepAt = FIRST_SWEEP_AT;

  // A flood of distinct IPs must not grow the Map without end. Sweeping only when it has doubled since the
  // last sweep keeps the cost at O(1) per write, and the Map at most twice the clients not yet full again.
  const sweep = (time: number) => {
    for (const [key, bucket] of buckets) if (bucket.fullAt <= time) buckets.delete(key);
    sweepAt = Math.max(FIRST_SWEEP_AT, buckets.size * 2);
  };

  const run = (key: string, amount: number, mode: 'take' | 'refund', policy: BucketPolicy, upTo: number) => {
    const time = now();
    const stored = buckets.get(key);
    let tokens = policy.capacity;
    if (stored) {
      tokens = Math.min(policy.capacity, stored.tokens + (Math.max(0, time - stored.at) * policy.restorePerSecond) / 1000);
    }
    let allowed = true;
    let taken = 0;
    if (mode === 'refund') {
      tokens = Math.min(policy.capacity, tokens + amount);
    } else if (tokens >= amount) {
      taken = Math.max(amount, Math.min(upTo, Math.floor(tokens)));
      tokens -= taken;
    } else {
      allowed = false;
    }
    if (allowed && amount > 0) {
      if (tokens >= policy.capacity) {
        buckets.delete(key);
      } else {
        buckets.set(key, { tokens, at: time, fullAt: time + ((policy.capacity - tokens) * 1000) / policy.restorePerSecond });
        if (buckets.size >= sweepAt) sweep(time);
      }
    }
    return Promise.resolve(reportState(allowed, taken, tokens, amount, policy));
  };
  return {
    take: (key, cost, policy, upTo = cost) => run(key, cost, 'take', policy, leaseOf(cost, upTo)),
    refund: (key, points, policy) => run(key, points, 'refund', policy, points),
  };
}
